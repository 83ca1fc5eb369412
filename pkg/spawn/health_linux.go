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
	w.ready, w.lastPing, s.changed = true, now, true
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
		s.changed = true
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
			w.ready, s.changed = false, true
		case key == "STATUS":
			w.status, s.changed = value, true
		case key == "WATCHDOG" && value == "1":
			w.lastPing = now
		case key == "WATCHDOG" && value == "trigger":
			s.watchdogFired(w, "the worker sent WATCHDOG=trigger", now)
		}
	}
}

// watchdogDue is when sl's worker must have pinged by; zero if it need not.
func (s *supervisor) watchdogDue(sl *slot) time.Time {
	w := sl.current
	if s.cfg.Watchdog <= 0 || w == nil || !w.ready || w.stopping || sl.leaving {
		return time.Time{}
	}
	return w.lastPing.Add(s.cfg.Watchdog)
}

func (s *supervisor) checkWatchdogs(now time.Time) {
	for _, sl := range s.slots {
		if due := s.watchdogDue(sl); !due.IsZero() && !now.Before(due) {
			s.watchdogFired(sl.current, "no WATCHDOG=1 within "+s.cfg.Watchdog.String(), now)
		}
	}
}

// watchdogFired replaces w. Like a crash, that spends the slot's restart
// budget (systemd's start limit counts watchdog restarts too): a worker
// that keeps missing its pings ends the pool instead of being replaced
// for ever while the pool looks ready.
func (s *supervisor) watchdogFired(w *worker, why string, now time.Time) {
	if w != w.slot.current || w.stopping || (s.phase != Running && s.phase != Draining) {
		return
	}
	if !w.slot.budget.spend(now) {
		s.log.Warn("watchdog fired", "slot", w.slot.index, "pid", w.pid, "reason", why)
		s.giveUp(w.slot, 1, now)
		return
	}
	s.replace(w.slot, "watchdog: "+why, now)
}

// sampleQueues looks at every slot's accept queue, at most once per
// sampleEvery, to find workers that no longer accept.
func (s *supervisor) sampleQueues(now time.Time) {
	if s.cfg.StuckTimeout <= 0 || now.Before(s.nextSample) {
		return
	}
	s.nextSample = now.Add(sampleEvery(s.cfg.StuckTimeout))
	for _, sl := range s.slots {
		w := sl.current
		if w == nil || !w.ready || w.stopping || sl.leaving {
			sl.backlog = backlog{}
			continue
		}
		queued := s.cfg.Sockets.Queued(s.servingShard(sl))
		if stuck := sl.backlog.observe(queued, now, s.cfg.StuckTimeout); stuck != w.stuck {
			s.setStuck(w, stuck, queued, now)
		}
	}
}

func (s *supervisor) setStuck(w *worker, stuck bool, queued int, now time.Time) {
	w.stuck, s.changed = stuck, true
	if !stuck {
		s.log.Info("worker accepts again", "slot", w.slot.index, "pid", w.pid)
		return
	}
	s.counters.StuckWorkers++
	s.log.Warn("worker stuck: its queue does not drain", "slot", w.slot.index, "pid", w.pid,
		"queued", queued, "stuck_timeout", s.cfg.StuckTimeout, "on_stuck", s.cfg.OnStuck)
	if s.cfg.OnStuck == StuckRestart {
		s.replace(w.slot, "stuck", now)
	}
}
