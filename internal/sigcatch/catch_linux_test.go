package sigcatch

import (
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// A storm of SIGCHLD that nobody has read yet leaves room for the signals
// that steer the pool: with one channel for all, os/signal would drop the
// SIGUSR1 that follows 200 unread SIGCHLD.
func TestChildStormLeavesRoom(t *testing.T) {
	s, stop := Catch()
	defer stop()
	// seen gets each signal too: once it has, os/signal has delivered it
	// to s, and the next kill cannot merge with it in the kernel.
	seen := make(chan os.Signal, 1)
	signal.Notify(seen, syscall.SIGCHLD, syscall.SIGUSR1)
	defer signal.Stop(seen)
	send := func(sig syscall.Signal) {
		syscall.Kill(os.Getpid(), sig)
		select {
		case <-seen:
		case <-time.After(5 * time.Second):
			t.Fatalf("%v sent to self not delivered in 5s", sig)
		}
	}
	for range 200 {
		send(syscall.SIGCHLD)
	}
	send(syscall.SIGUSR1)
	select {
	case got := <-s.Other:
		if got != syscall.SIGUSR1 {
			t.Errorf("got %v, want SIGUSR1", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SIGUSR1 after 200 unread SIGCHLD was dropped")
	}
	if n := len(s.Child); n != 1 {
		t.Errorf("%d SIGCHLD waiting, want 1: they only say reap", n)
	}
}

// Every catchable signal is caught but SIGCHLD (its own channel), the
// runtime's SIGURG and the C library's 32 and 33.
func TestCatchable(t *testing.T) {
	caught := map[syscall.Signal]bool{}
	for _, s := range Catchable() {
		caught[s.(syscall.Signal)] = true
	}
	for n := syscall.Signal(1); n <= 64; n++ {
		want := n != syscall.SIGKILL && n != syscall.SIGSTOP && n != syscall.SIGURG && n != syscall.SIGCHLD && n != 32 && n != 33
		if caught[n] != want {
			t.Errorf("signal %d caught = %v, want %v", n, caught[n], want)
		}
	}
}
