package spawn

import (
	"fmt"
	"time"
)

// Scaling changes the number of slots while the pool serves. Scaling up
// binds one more shard per listener (it joins the SO_REUSEPORT group) and
// starts its worker. Scaling down removes the highest slot without
// resetting a connection: its shards would keep receiving new connections
// while they are in the group, so new connections are first steered to
// the other shards; its worker then drains the queue, stops, and only then
// are its sockets closed.

// shrinkQuiet is how long the leaving shard's queue must stay empty before
// its worker stops: a handshake that was under way when the steering began
// lands in that queue within a round trip.
const shrinkQuiet = 200 * time.Millisecond

// shrink is a scale-down under way.
type shrink struct {
	slot       *slot
	began      time.Time
	quietSince time.Time // the leaving queue has been empty since
	stopped    bool      // its worker got the stop signal
}

func (s *supervisor) scaleUp(now time.Time) {
	switch {
	case s.phase != Running:
		s.log.Info("scale-up ignored while stopping")
		return
	case s.shrinking != nil:
		s.log.Warn("scale-up ignored: a scale-down is under way")
		return
	case len(s.slots) >= s.cfg.MaxWorkers:
		s.counters.ScaleRefused++
		s.changed = true
		s.log.Warn("scale-up refused: at --max-workers", "workers", len(s.slots), "max_workers", s.cfg.MaxWorkers)
		return
	}
	if err := s.addSlot(now); err != nil {
		s.counters.ScaleFailures++
		s.changed = true
		s.log.Error("scale-up failed and was undone; serving on", "workers", len(s.slots), "err", err)
		return
	}
	s.counters.ScaleUps++
	s.log.Info("scaled up", "workers", len(s.slots))
}

// addSlot binds one more shard and starts its first worker, or undoes
// both. A slot whose worker cannot even be started (no fd, no process
// left to fork) would only be restarted in a loop, and at --max-restarts
// end the pool that it was meant to grow.
func (s *supervisor) addSlot(now time.Time) error {
	if err := s.cfg.Sockets.AddShard(); err != nil {
		return err
	}
	sl := &slot{index: len(s.slots), budget: budget{max: s.cfg.MaxRestarts, window: s.cfg.RestartWindow}}
	s.slots = append(s.slots, sl) // before spawn: its worker is told the new number of slots
	w, err := s.spawn(sl, now)
	if err != nil {
		s.slots = s.slots[:len(s.slots)-1]
		// The shard was in the group for as long as the fork took: what
		// the kernel queued on it meanwhile is reset now, and counted.
		queued, cerr := s.cfg.Sockets.CloseLastShard()
		if cerr != nil {
			s.log.Error("scale-up: close the added shard", "err", cerr)
		}
		s.counters.LostConnections += uint64(queued)
		return fmt.Errorf("start the worker of slot %d: %w", sl.index, err)
	}
	s.makeCurrent(sl, w, now)
	return nil
}

func (s *supervisor) scaleDown(now time.Time) {
	last := s.slots[len(s.slots)-1]
	switch {
	case s.phase != Running:
		s.log.Info("scale-down ignored while stopping")
		return
	case s.shrinking != nil:
		s.log.Warn("scale-down ignored: one is under way")
		return
	case len(s.slots) == 1:
		s.log.Warn("scale-down ignored: one slot is the fewest")
		return
	case s.roll != nil || last.successor != nil:
		s.log.Warn("scale-down ignored: a rolling restart is under way")
		return
	}
	if err := s.cfg.Sockets.Steer(len(s.slots) - 1); err != nil {
		s.log.Error("scale down", "err", err)
		return
	}
	last.leaving, last.restartAt = true, time.Time{}
	s.shrinking, s.changed = &shrink{slot: last, began: now}, true
	s.log.Info("scaling down: new connections go to the other slots while the last one drains", "slot", last.index)
}

// stepShrink moves a scale-down on: stop the leaving worker once its queue
// has drained (or after --stop-timeout), then close its sockets once it is
// gone.
func (s *supervisor) stepShrink(now time.Time) {
	sh := s.shrinking
	if sh == nil {
		return
	}
	sl := sh.slot
	if !sh.stopped {
		if !s.drained(sh, now) && now.Sub(sh.began) < s.cfg.StopTimeout {
			return
		}
		sh.stopped = true
		if sl.current != nil {
			s.retire(sl.current, now)
		}
	}
	for _, w := range s.byPID {
		if w.slot == sl {
			return
		}
	}
	s.removeLastSlot(sl)
}

func (s *supervisor) drained(sh *shrink, now time.Time) bool {
	if s.cfg.Sockets.Queued(sh.slot.index) > 0 {
		sh.quietSince = time.Time{}
		return false
	}
	if sh.quietSince.IsZero() {
		sh.quietSince = now
	}
	return now.Sub(sh.quietSince) >= shrinkQuiet
}

// removeLastSlot closes the leaving slot's sockets, then lets the kernel
// spread over the rest again (in that order: unsteered first, the group
// could still pick the closing socket).
func (s *supervisor) removeLastSlot(sl *slot) {
	queued, err := s.cfg.Sockets.CloseLastShard()
	if err != nil {
		s.log.Error("scale down: close the last shard", "err", err)
	}
	if err := s.cfg.Sockets.Unsteer(); err != nil {
		s.log.Error("scale down: unsteer", "err", err)
	}
	if queued > 0 {
		s.counters.LostConnections += uint64(queued)
		s.log.Error("scale down: connections were still queued on the closed shard; they were reset unless net.ipv4.tcp_migrate_req moved them",
			"queued", queued)
	}
	s.slots = s.slots[:len(s.slots)-1]
	s.shrinking, s.changed = nil, true
	s.counters.ScaleDowns++
	s.log.Info("scaled down", "workers", len(s.slots))
}
