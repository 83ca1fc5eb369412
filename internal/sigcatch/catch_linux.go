package sigcatch

import (
	"os"
	"os/signal"
	"syscall"
)

// otherCap is the room for caught signals the supervisor has not taken yet.
// os/signal drops a signal when its channel is full; without SIGCHLD in it,
// only a sender hammering shardinit on purpose comes near that.
const otherCap = 1024

// ExecStageArg0 is argv[0] of a worker passing through shardinit on its
// way to exec (see spawn.ExecStage), which keeps the default actions. It is
// defined here because this package decides before main runs.
const ExecStageArg0 = "shardinit-exec"

// Set is one registration: SIGCHLD apart from the rest.
type Set struct {
	// Child receives SIGCHLD, coalesced: a value means "reap now".
	Child <-chan os.Signal
	// Other receives every other signal shardinit catches, in order.
	Other <-chan os.Signal
}

// early is the registration made by init, taken by the first Catch.
var early struct {
	set  Set
	stop func()
}

func init() {
	if os.Getpid() == 1 && len(os.Args) > 0 && os.Args[0] != ExecStageArg0 {
		early.set, early.stop = register()
	}
}

// Catch returns the registration made at start-up as PID 1, or registers
// now; stop undoes it.
func Catch() (s Set, stop func()) {
	if early.stop == nil {
		return register()
	}
	s, stop = early.set, early.stop
	early.stop = nil
	return s, stop
}

func register() (Set, func()) {
	child, other := make(chan os.Signal, 1), make(chan os.Signal, otherCap)
	signal.Notify(child, syscall.SIGCHLD)
	signal.Notify(other, Catchable()...)
	return Set{Child: child, Other: other}, func() { signal.Stop(child); signal.Stop(other) }
}

// Catchable lists every signal shardinit catches besides SIGCHLD: all that
// can be caught, but for SIGURG, the Go runtime's preemption signal (it
// arrives all the time), and 32 and 33, which belong to the C library's
// threads. SIGPROF is in the list yet never arrives: the runtime keeps it
// for its profiler and does not pass it on.
func Catchable() []os.Signal {
	var sigs []os.Signal
	for n := 1; n <= 64; n++ {
		switch s := syscall.Signal(n); {
		case s == syscall.SIGKILL || s == syscall.SIGSTOP || s == syscall.SIGURG || s == syscall.SIGCHLD, n == 32, n == 33:
		default:
			sigs = append(sigs, s)
		}
	}
	return sigs
}
