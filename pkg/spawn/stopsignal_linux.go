package spawn

import (
	"errors"

	"golang.org/x/sys/unix"
)

// CheckStopSignal refuses a stop signal that cannot ask a worker to stop:
// with one of these every graceful stop would end in SIGKILL after the
// stop timeout, or the worker would take it for something else.
func CheckStopSignal(sig unix.Signal) error {
	switch sig {
	case unix.SIGKILL:
		return errors.New("it cannot be caught, so no stop would be graceful (SIGKILL follows --stop-timeout anyway)")
	case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		return errors.New("it suspends the process instead of stopping it: every stop would end in SIGKILL")
	case unix.SIGCONT:
		return errors.New("it is ignored unless handled, and sent to every process resumed after a suspension")
	case unix.SIGCHLD:
		return errors.New("it is ignored unless handled, and sent to a worker whenever one of its children exits")
	}
	if owner := reservedBy(sig); owner != "" {
		return errors.New("it " + owner)
	}
	return nil
}

// reservedBy says whose a signal is when a program's runtime keeps it
// for itself; "" for the others.
func reservedBy(sig unix.Signal) string {
	switch sig {
	case 32, 33:
		return "belongs to the C library (its threads use it)"
	case unix.SIGURG:
		return "is the Go runtime's (goroutine preemption)"
	case unix.SIGPROF:
		return "is the Go runtime's (its profiler's clock), which never passes it on"
	}
	return ""
}
