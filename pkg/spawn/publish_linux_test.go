package spawn

import (
	"bytes"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
)

// TestPublishLogsChangesOnly: a snapshot is stored after every pass that
// changed something, but readiness and liveness are logged only when they
// change, so a busy pool does not flood the log.
func TestPublishLogsChangesOnly(t *testing.T) {
	var logs bytes.Buffer
	s := newSupervisor(Config{Workers: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, nil)
	var snap atomic.Pointer[Status]
	s.snapshot = &snap
	w0, w1 := &worker{pid: 10, slot: s.slots[0]}, &worker{pid: 11, slot: s.slots[1]}
	s.slots[0].current, s.slots[1].current = w0, w1

	pass := func(change func()) {
		change()
		s.changed = true
		s.publish()
	}
	pass(func() {})                  // first snapshot: not ready
	pass(func() { w0.ready = true }) // one of two: still not ready
	pass(func() { w1.ready = true }) // ready
	pass(func() { w1.stuck = true }) // stuck, and so not ready
	pass(func() { w1.status = "busy" })

	st := snap.Load()
	if st == nil || st.Slots[1].Status != "busy" {
		t.Fatalf("last snapshot %+v, want slot 1's status \"busy\"", st)
	}
	got := logs.String()
	if n := strings.Count(got, "readiness changed"); n != 3 {
		t.Errorf("%d readiness lines, want 3 (unready, ready, unready):\n%s", n, got)
	}
	if n := strings.Count(got, "liveness changed"); n != 1 {
		t.Errorf("%d liveness lines, want 1:\n%s", n, got)
	}
	if !strings.Contains(got, "stuck_slots=[1]") {
		t.Errorf("no stuck_slots=[1] in the log:\n%s", got)
	}
}
