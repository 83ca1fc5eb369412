package spawn

import (
	"strings"
	"time"
)

// markReady records that w serves; the watchdog counts from here.
func (s *supervisor) markReady(w *worker, now time.Time) {
	if w.ready {
		return
	}
	w.ready, w.lastPing = true, now
	s.counters.StartToReady.observe(now.Sub(w.started))
	if w == w.slot.current {
		w.slot.joining = false
	}
	if s.cfg.ReadyOn == ReadyOnNotify {
		s.log.Info("worker ready", "slot", w.slot.index, "pid", w.pid)
	}
	if w == w.slot.successor {
		s.promote(w.slot, now)
	}
	if w.openAt.IsZero() && w.settleAt.IsZero() {
		s.release(w)
	}
}

// onNote applies an sd_notify message to the worker whose socket it
// reached. A sender that is still there to be checked and belongs to
// another worker's session is refused: a process of one worker that
// learned another worker's socket (its environment is readable to the
// same user) cannot change that worker's state. A sender already gone
// cannot be checked, and counts for the socket.
func (s *supervisor) onNote(n note, now time.Time) {
	w := s.bySocket[n.sock]
	if w == nil {
		return // its worker has exited
	}
	if other := s.byPID[n.session]; other != nil && other != w && !s.terminal {
		s.counters.NotifyRejected++
		s.log.Warn("notify message refused: sent by a process of another worker", "slot", w.slot.index, "pid", w.pid,
			"sender", n.sender, "sender_slot", other.slot.index)
		return
	}
	for _, line := range strings.Split(n.text, "\n") {
		key, value, _ := strings.Cut(line, "=")
		switch {
		case key == "READY" && value == "1" && s.cfg.ReadyOn != ReadyOnAccept:
			// With --ready-on accept only what the worker does counts: a
			// server may say READY=1 before it accepts (gunicorn's master).
			s.markReady(w, now)
		case key == "STOPPING" && value == "1":
			w.ready = false
		case key == "STATUS":
			w.status = value
		case key == "WATCHDOG" && value == "1":
			w.lastPing = now
		case key == "WATCHDOG" && value == "trigger":
			s.watchdogFired(w, "the worker sent WATCHDOG=trigger", now)
		}
	}
}
