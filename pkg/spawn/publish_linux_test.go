package spawn

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestPublishLogsChangesOnly: a snapshot is stored after every pass that
// changed it, and only then, and readiness and liveness are logged only
// when they change, so a busy pool does not flood the log.
func TestPublishLogsChangesOnly(t *testing.T) {
	var logs bytes.Buffer
	var snap atomic.Pointer[Snapshot]
	s := newSupervisor(Config{Workers: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, nil, &snap)
	w0, w1 := &worker{pid: 10, slot: s.slots[0]}, &worker{pid: 11, slot: s.slots[1]}
	s.slots[0].current, s.slots[1].current = w0, w1

	pass := func(change func()) {
		change()
		s.publish()
	}
	pass(func() {})                  // first snapshot: not ready
	pass(func() { w0.ready = true }) // one of two: still not ready
	pass(func() { w1.ready = true }) // ready
	pass(func() { w1.stuck = true }) // stuck, and so not ready
	pass(func() { w1.status = "busy" })
	before := snap.Load()
	pass(func() {}) // nothing changed: the same snapshot

	st := snap.Load()
	if st != before {
		t.Errorf("a pass that changed nothing stored a new snapshot")
	}
	if st == nil || st.Slots[1].StatusLine != "busy" {
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

// TestStopCause: Pool.Stop(nil) is a plain stop, and only the first cause
// is what Run returns.
func TestStopCause(t *testing.T) {
	var snap atomic.Pointer[Snapshot]
	s := newSupervisor(Config{Workers: 1, Logger: slog.New(slog.DiscardHandler)}, nil, &snap)
	now := time.Now()
	s.onStop(nil, now)
	if s.phase == Running || s.stopCause != nil {
		t.Fatalf("after Stop(nil): phase %s, cause %v; want a stop without a cause", s.phase, s.stopCause)
	}
	first := errors.New("health address taken")
	s.onStop(first, now)
	s.onStop(errors.New("second"), now)
	if s.stopCause != first {
		t.Errorf("cause %v, want %v", s.stopCause, first)
	}
}
