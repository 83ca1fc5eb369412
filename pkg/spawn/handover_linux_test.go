package spawn

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A successor that is not ready in time is told to stop, but its fresh
// shard stays steered away from until it has exited: the socket stays in
// its group while the successor holds it, and new connections handed to
// it there would be reset as the successor stops.
func TestAbandonedSuccessorKeepsItsShardFencedUntilItExits(t *testing.T) {
	m := newMachine(t, Config{Workers: 2, ReadyOn: ReadyOnNotify, ReadyTimeout: time.Second})
	m.readyAll()
	m.signal(unix.SIGHUP)
	succ := m.s.slots[0].successor
	if succ == nil {
		t.Fatal("no successor after SIGHUP")
	}
	mark := len(m.calls)
	m.pass(time.Second) // its --ready-timeout is up
	want := []string{fmt.Sprintf("kill %d SIGTERM", -succ.pid), fmt.Sprintf("kill %d SIGCONT", -succ.pid)}
	if got := m.since(mark); !slices.Equal(got, want) {
		t.Fatalf("at the ready timeout: %q, want %q (the shard left open and steered away from)", got, want)
	}
	if m.s.roll != nil || m.s.counters.RollFailures != 1 {
		t.Errorf("roll %+v, %d failures; want the roll ended with one failure", m.s.roll, m.s.counters.RollFailures)
	}
	mark = len(m.calls)
	m.exit(succ, killedBy(unix.SIGTERM))
	want = []string{"close shard 2", "unsteer"}
	if got := m.since(mark); !slices.Equal(got, want) {
		t.Fatalf("once it exited: %q, want %q", got, want)
	}
	if m.s.slots[0].handover != nil {
		t.Errorf("slot 0 still has a handover")
	}
}
