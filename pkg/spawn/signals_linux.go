package spawn

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Notify registers every catchable signal, so that none of them can kill
// shardinit (a PID 1 that dies takes every worker with it). Call it before
// anything is spawned and hand the channel to Run.
//
// SIGURG is left out: it is the Go runtime's preemption signal and arrives
// all the time. Signals 32 and 33 belong to the C library's threads.
func Notify() (signals <-chan os.Signal, stop func()) {
	ch := make(chan os.Signal, 128)
	signal.Notify(ch, catchable()...)
	return ch, func() { signal.Stop(ch) }
}

func catchable() []os.Signal {
	var sigs []os.Signal
	for n := 1; n <= 64; n++ {
		switch s := unix.Signal(n); {
		case s == unix.SIGKILL || s == unix.SIGSTOP || s == unix.SIGURG, n == 32, n == 33:
		default:
			sigs = append(sigs, s)
		}
	}
	return sigs
}

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

// SignalName is the conventional name, "SIGTERM", or "signal 40".
func SignalName(sig unix.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	return "signal " + strconv.Itoa(int(sig))
}
