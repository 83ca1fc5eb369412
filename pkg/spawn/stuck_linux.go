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
		if stuck := sl.backlog.observe(queued, now, s.cfg.StuckTimeout); stuck != w.stuck {
			s.setStuck(w, stuck, queued, now)
		}
	}
}

func (s *supervisor) setStuck(w *worker, stuck bool, queued int, now time.Time) {
	w.stuck = stuck
	if !stuck {
		s.log.Info("worker accepts again", "slot", w.slot.index, "pid", w.pid)
		return
	}
	s.counters.StuckWorkers++
	s.log.Warn("worker stuck: its queue does not drain", "slot", w.slot.index, "pid", w.pid,
		"queued", queued, "stuck_timeout", s.cfg.StuckTimeout, "on_stuck", s.cfg.OnStuck)
	if s.cfg.OnStuck == StuckRestart {
		s.replace(w.slot, RestartStuck, "stuck", now)
	}
}
