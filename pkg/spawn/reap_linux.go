package spawn

import (
	"errors"
	"os"
	"strconv"

	"github.com/shardinit/shardinit/internal/procstat"
	"golang.org/x/sys/unix"
)

// becomeReaper makes orphans ours to reap when shardinit is not PID 1 (in a
// container it is, and the kernel hands them over anyway).
func (s *supervisor) becomeReaper() {
	if os.Getpid() == 1 {
		return
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		s.log.Warn("not PID 1, and PR_SET_CHILD_SUBREAPER failed: orphans of workers go to the real init", "err", err)
		return
	}
	s.log.Warn("not PID 1: registered as child subreaper, so orphans of workers are reaped here")
}

// reap is the only place that waits for children. It collects every exited
// child, worker or orphan, and dispatches workers by PID.
func (s *supervisor) reap() {
	for {
		var ws unix.WaitStatus
		pid, err := s.os.wait4(-1, &ws, unix.WNOHANG, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ECHILD):
			s.hasChildren = false
			return
		case err != nil:
			s.log.Error("wait4", "err", err)
			return
		case pid == 0:
			s.hasChildren = true
			return
		}
		if w, ok := s.byPID[pid]; ok {
			s.onExit(w, ws, s.os.now())
		} else {
			s.counters.OrphansReaped++
			s.log.Debug("reaped orphan", "pid", pid, "status", describe(ws))
		}
	}
}

// exitCode follows the shell: 128+N for a process killed by signal N.
func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// exitAttrs are the log fields of a worker's exit: its slot and PID, the
// status in words, and exit_code or signal for a log pipeline to match on.
func exitAttrs(w *worker, ws unix.WaitStatus) []any {
	attrs := []any{"slot", w.slot.index, "pid", w.pid, "status", describe(ws)}
	if ws.Signaled() {
		return append(attrs, "signal", SignalName(ws.Signal()))
	}
	return append(attrs, "exit_code", ws.ExitStatus())
}

func describe(ws unix.WaitStatus) string {
	if ws.Signaled() {
		s := "killed by " + SignalName(ws.Signal())
		if ws.CoreDump() {
			s += " (core dumped)"
		}
		return s
	}
	return "exit status " + strconv.Itoa(ws.ExitStatus())
}

// killDescendants signals every process left under shardinit. As PID 1,
// kill(-1) reaches exactly the namespace's other processes. Otherwise the
// direct children are found in /proc (orphans were reparented to us as the
// subreaper); grandchildren follow as their parents die and are reparented.
func (s *supervisor) killDescendants(sig unix.Signal) {
	self := os.Getpid()
	if self == 1 {
		s.os.kill(-1, sig)
		return
	}
	procstat.Each(func(pid int, st procstat.Stat) {
		if ppid, _ := st.PPID(); ppid == self {
			s.os.kill(pid, sig)
		}
	})
}

// procIsOurs says whether /proc shows shardinit's PID namespace.
func procIsOurs() bool { return procstat.Ours() }
