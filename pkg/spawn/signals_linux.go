package spawn

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shardinit/shardinit/internal/sigcatch"
	"golang.org/x/sys/unix"
)

// Signals are the channels Run reads signals from (see Notify).
type Signals = sigcatch.Set

// Notify registers every catchable signal, so that none of them can kill
// shardinit (a PID 1 that dies takes every worker with it). Call it before
// anything is spawned and hand the result to Run. As PID 1 the registration
// was made while the program started (see internal/sigcatch).
//
// SIGURG is left out: it is the Go runtime's preemption signal and arrives
// all the time. Signals 32 and 33 belong to the C library's threads.
// SIGCHLD comes on a channel of its own, so that a storm of exiting
// children never crowds out a signal that steers the pool.
func Notify() (signals Signals, stop func()) { return sigcatch.Catch() }

// sigrtmin is the first real-time signal that programs may use (glibc keeps
// 32 and 33 for itself).
const sigrtmin = 34

// ParseSignal reads a signal as "15", "TERM", "SIGTERM", "sigterm" or
// "RTMIN+3".
func ParseSignal(s string) (unix.Signal, error) {
	name := strings.ToUpper(strings.TrimPrefix(strings.ToUpper(s), "SIG"))
	if n, err := strconv.Atoi(name); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("signal %q: number out of range 1-64", s)
		}
		return unix.Signal(n), nil
	}
	if rest, ok := strings.CutPrefix(name, "RTMIN+"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 && sigrtmin+n <= 64 {
			return unix.Signal(sigrtmin + n), nil
		}
	}
	if sig := unix.SignalNum("SIG" + name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("signal %q: unknown signal name", s)
}

// SignalName is sig as ParseSignal reads it back, in logs, metrics,
// settings and /status alike: "SIGTERM", "SIGRTMIN+3", or the number of
// one that has no name (32, 33).
func SignalName(sig unix.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	if sig >= sigrtmin && sig <= 64 {
		return "SIGRTMIN+" + strconv.Itoa(int(sig-sigrtmin))
	}
	return strconv.Itoa(int(sig))
}
