package spawn

import "time"

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
		backedUp := sl.backlog.observe(queued, now, s.cfg.StuckTimeout)
		halted := s.halted(w, now)
		if stuck := backedUp || halted; stuck != w.stuck {
			why := "its queue does not drain"
			if halted {
				why = "it is stopped (SIGSTOP)"
			}
			s.setStuck(w, stuck, why, queued, now)
		}
	}
}

// halted says whether w's process has been stopped by a signal (state T)
// at every sample for StuckTimeout. Such a worker serves none of its
// keep-alive connections, which no accept queue shows when its clients
// open no new one. A process stopped by a debugger (t) is left alone.
func (s *supervisor) halted(w *worker, now time.Time) bool {
	if s.os.state(w.pid) != "T" {
		w.haltedSince = time.Time{}
		return false
	}
	if w.haltedSince.IsZero() {
		w.haltedSince = now
	}
	return now.Sub(w.haltedSince) >= s.cfg.StuckTimeout
}

func (s *supervisor) setStuck(w *worker, stuck bool, why string, queued int, now time.Time) {
	w.stuck = stuck
	if !stuck {
		s.log.Info("worker accepts again", "slot", w.slot.index, "pid", w.pid)
		return
	}
	s.counters.StuckWorkers++
	s.log.Warn("worker stuck: "+why, "slot", w.slot.index, "pid", w.pid,
		"queued", queued, "stuck_timeout", s.cfg.StuckTimeout, "on_stuck", s.cfg.OnStuck)
	if s.cfg.OnStuck == StuckRestart {
		s.replace(w.slot, RestartStuck, "stuck", now)
	}
}
