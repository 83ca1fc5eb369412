package spawn

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A forwarded signal (SIGUSR1, …) that reaches a worker before it has
// installed its handler takes the default action, which for most signals
// kills it: a roll's successor would die of the log-reopen signal meant for
// the old workers. So a forwarded signal is held for a worker that does not
// yet catch or ignore it (its /proc/PID/status says) and is not yet ready,
// and is sent once it is ready: at READY=1 with --ready-on notify, or
// startSettle after its start with --ready-on start. A signal held twice is
// sent once, as the kernel would merge it; real-time signals are kept each.

// maxHeld bounds the signals held for one worker.
const maxHeld = 64

// forward sends sig to w now, or holds it until w is ready.
func (s *supervisor) forward(w *worker, sig unix.Signal) {
	if w.stopping || w.open || handles(w.pid, sig) {
		s.signal(w, sig)
		return
	}
	if len(w.held) >= maxHeld || (sig < sigrtmin && slices.Contains(w.held, sig)) {
		return
	}
	w.held = append(w.held, sig)
	s.log.Debug("signal held until the worker is ready", "signal", SignalName(sig), "slot", w.slot.index, "pid", w.pid)
}

// release sends the signals held for w, and from now on every signal at
// once (a worker that said STOPPING=1 still gets them).
func (s *supervisor) release(w *worker) {
	held := w.held
	w.held, w.open = nil, true
	for _, sig := range held {
		s.signal(w, sig)
	}
}

// openDue releases held signals of workers past their settle time.
func (s *supervisor) openDue(now time.Time) {
	for _, w := range s.byPID {
		if !w.openAt.IsZero() && !now.Before(w.openAt) {
			w.openAt = time.Time{}
			s.release(w)
		}
	}
}

// handles reports whether the program that pid runs (past the exec stage)
// catches or ignores sig.
func handles(pid int, sig unix.Signal) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || strings.HasPrefix(string(cmdline), execStageArg0+"\x00") {
		return false
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	bit := uint64(1) << (uint(sig) - 1)
	for _, line := range strings.Split(string(status), "\n") {
		name, hex, ok := strings.Cut(line, ":\t")
		if ok && (name == "SigCgt" || name == "SigIgn") {
			if mask, err := strconv.ParseUint(hex, 16, 64); err == nil && mask&bit != 0 {
				return true
			}
		}
	}
	return false
}
