package spawn

import "time"

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
	s.replace(w.slot, RestartWatchdog, "watchdog: "+why, now)
}
