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
	unsteered  bool      // new connections still reach it
}

// scaleUp adds a slot, and says whether it did.
func (s *supervisor) scaleUp(now time.Time) bool {
	switch {
	case s.phase != Running:
		s.log.Info("scale-up ignored while stopping")
		return false
	case s.shrinking != nil:
		s.log.Warn("scale-up ignored: a scale-down is under way")
		return false
	case s.roll != nil || s.handingOver():
		s.log.Warn("scale-up ignored: a rolling restart is under way")
		return false
	case len(s.slots) >= s.cfg.MaxWorkers:
		s.counters.ScaleRefused++
		s.log.Warn("scale-up refused: at --max-workers", "workers", len(s.slots), "max_workers", s.cfg.MaxWorkers)
		return false
	}
	if err := s.addSlot(now); err != nil {
		s.counters.ScaleFailures++
		s.log.Error("scale-up failed and was undone; serving on", "workers", len(s.slots), "err", err)
		return false
	}
	s.counters.ScaleUps++
	s.log.Info("scaled up", "workers", len(s.slots))
	return true
}

// addSlot binds one more shard and starts its first worker, or undoes
// both. A slot whose worker cannot even be started (no fd, no process
// left to fork) would only be restarted in a loop, and at --max-restarts
// end the pool that it was meant to grow.
func (s *supervisor) addSlot(now time.Time) error {
	if _, err := s.cfg.Sockets.AddShard(false); err != nil {
		return err
	}
	sl := &slot{index: len(s.slots), budget: budget{max: s.cfg.MaxRestarts, window: s.cfg.RestartWindow}, joining: true}
	s.slots = append(s.slots, sl) // before spawn: its worker is told the new number of slots
	// The slot's first worker: no restart, whatever the reason says.
	w, err := s.spawn(sl, sl.index, RestartCrash, now)
	if err != nil {
		// The shard was in the group for as long as the fork took: what
		// the kernel queued on it meanwhile is reset now, and counted.
		s.closeLastShard("scale-up undone")
		s.slots = s.slots[:len(s.slots)-1]
		return fmt.Errorf("start the worker of slot %d: %w", sl.index, err)
	}
	s.makeCurrent(sl, w, now)
	return nil
}

// scaleDown begins to remove the last slot, and says whether it did.
func (s *supervisor) scaleDown(now time.Time) bool {
	last := s.slots[len(s.slots)-1]
	switch {
	case s.phase != Running:
		s.log.Info("scale-down ignored while stopping")
		return false
	case s.shrinking != nil:
		s.log.Warn("scale-down ignored: one is under way")
		return false
	case len(s.slots) == 1:
		s.log.Warn("scale-down ignored: one slot is the fewest")
		return false
	case s.roll != nil || last.successor != nil || s.handingOver():
		s.log.Warn("scale-down ignored: a rolling restart is under way")
		return false
	}
	last.leaving, last.restartAt = true, time.Time{}
	s.shrinking = &shrink{slot: last, began: now}
	if err := s.steer(); err != nil {
		// Steering that guessed could send every new connection to the
		// leaving shard. Without it the worker stops at once, as a roll
		// stops its predecessor, and what is queued at the close is moved
		// (tcp_migrate_req) or reset.
		s.shrinking.unsteered = true
		s.log.Warn("scaling down without steering: the last slot's worker stops now", "slot", last.index, "err", err)
		return true
	}
	s.log.Info("scaling down: new connections go to the other slots while the last one drains", "slot", last.index)
	return true
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
		if !sh.unsteered && !s.quiet(sl.index, &sh.quietSince, now) && now.Sub(sh.began) < s.cfg.StopTimeout {
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

// removeLastSlot closes the leaving slot's sockets, then lets the kernel
// spread over the rest again (in that order: unsteered first, the group
// could still pick the closing socket).
func (s *supervisor) removeLastSlot(sl *slot) {
	s.closeLastShard("scale down")
	s.slots = s.slots[:len(s.slots)-1]
	s.shrinking = nil
	if err := s.steer(); err != nil {
		s.log.Error("scale down: unsteer", "err", err)
	}
	s.counters.ScaleDowns++
	s.log.Info("scaled down", "workers", len(s.slots))
}

// closeLastShard closes the highest slot's sockets and counts what was
// still queued on them.
func (s *supervisor) closeLastShard(why string) {
	reset, moved, err := s.cfg.Sockets.CloseShard(len(s.slots) - 1)
	s.countClosed(why, reset, moved, err)
}

// countClosed logs and counts what was still queued on a shard that closed.
func (s *supervisor) countClosed(why string, reset, moved int, err error) {
	if err != nil {
		s.log.Error(why+": close a shard", "err", err)
	}
	s.counters.LostConnections += uint64(reset)
	s.counters.MovedConnections += uint64(moved)
	switch {
	case reset > 0:
		s.log.Error(why+": connections still queued on the closed shard were reset (net.ipv4.tcp_migrate_req is off)", "reset", reset)
	case moved > 0:
		s.log.Info(why+": connections still queued on the closed shard moved to another (net.ipv4.tcp_migrate_req)", "moved", moved)
	}
}
