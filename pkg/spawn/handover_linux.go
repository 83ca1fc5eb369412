package spawn

import "time"

// A rolling restart hands a slot over on a fresh shard, as a scale-down
// retires one: the successor gets a socket of its own in each group, and
// new connections are steered away from it until it is ready. Then they
// are steered away from the predecessor's shard instead, and the
// predecessor serves out what is queued there and what it has accepted;
// only once that queue has stayed empty does it get the stop signal, so a
// server that closes what it accepts after its stop began (Go's
// http.Server.Shutdown) is never handed a new connection it would drop.
// Once it is gone its shard closes and the successor's takes its number.
// Where the group's order cannot be known (listen.ErrOrderUnknown), or no
// listener has a socket per worker, the successor shares the
// predecessor's sockets as before, and whatever waits in their queues
// passes to it.

// handover is a slot's roll onto a fresh shard, from the successor's
// start until the predecessor's shard is closed.
type handover struct {
	shard      int       // the successor's fresh shard
	promoted   bool      // the successor is the slot's current worker
	old        *worker   // the predecessor, draining on the slot's own shard
	since      time.Time // the predecessor's drain began
	quietSince time.Time // its queue has been empty since
	stopped    bool      // it (or a failed successor) got the stop signal
	failed     *worker   // a successor that will not take over, until it exits
}

// servingShard is the shard that the slot's current worker serves.
func (s *supervisor) servingShard(sl *slot) int {
	if h := sl.handover; h != nil && h.promoted {
		return h.shard
	}
	return sl.index
}

// freshShard gives sl a shard of its own for its successor, steered away
// from until the successor is ready; false when it cannot, and the
// successor shares the slot's sockets.
func (s *supervisor) freshShard(sl *slot) (int, bool) {
	shard, err := s.cfg.Sockets.AddShard(true)
	switch {
	case err != nil:
		s.log.Warn("rolling the slot on its own sockets: no fresh shard", "slot", sl.index, "err", err)
		return 0, false
	case shard < 0:
		return 0, false
	}
	sl.handover = &handover{shard: shard}
	if err := s.steer(); err != nil {
		s.log.Warn("rolling the slot on its own sockets: new connections cannot be steered", "slot", sl.index, "err", err)
		s.dropFresh(sl)
		return 0, false
	}
	return shard, true
}

// abandon tells a successor that will not take over to stop. Its shard
// stays steered away from until it has exited: a socket leaves its group
// only when its last descriptor closes, and the successor holds one, so a
// shard closed here and no longer steered away from would be handed new
// connections that the stopping successor resets.
func (s *supervisor) abandon(sl *slot, w *worker, now time.Time) {
	s.retire(w, now)
	sl.successor = nil
	if h := sl.handover; h != nil {
		h.failed, h.stopped = w, true
	}
}

// dropFresh closes a successor's fresh shard that will not take over.
func (s *supervisor) dropFresh(sl *slot) {
	h := sl.handover
	sl.handover = nil
	reset, moved, err := s.cfg.Sockets.CloseShard(h.shard)
	s.countClosed("roll: close the successor's shard", reset, moved, err)
	s.shardGone(h.shard)
	s.steer()
}

// promoteOnto makes the successor current and starts the predecessor's
// drain on the slot's own shard.
func (s *supervisor) promoteOnto(sl *slot, old *worker, now time.Time) {
	h := sl.handover
	h.promoted, h.old, h.since = true, old, now
	if err := s.steer(); err != nil && old != nil {
		s.log.Warn("roll: new connections cannot be steered away from the predecessor; it stops now", "slot", sl.index, "err", err)
		h.stopped = true
		s.retire(old, now)
	}
}

// stepHandovers stops each draining predecessor once its queue has stayed
// empty (or after --stop-timeout), and closes its shard once it is gone.
func (s *supervisor) stepHandovers(now time.Time) {
	for _, sl := range s.slots {
		h := sl.handover
		if h == nil || !h.promoted {
			continue
		}
		if h.old != nil && s.byPID[h.old.pid] == h.old {
			if !h.stopped && (s.quiet(sl.index, &h.quietSince, now) || now.Sub(h.since) >= s.cfg.StopTimeout) {
				h.stopped = true
				s.retire(h.old, now)
			}
			continue
		}
		s.finishHandover(sl)
	}
}

// quiet says whether shard's queue has been empty for shrinkQuiet.
func (s *supervisor) quiet(shard int, since *time.Time, now time.Time) bool {
	if s.cfg.Sockets.Queued(shard) > 0 {
		*since = time.Time{}
		return false
	}
	if since.IsZero() {
		*since = now
	}
	return now.Sub(*since) >= shrinkQuiet
}

func (s *supervisor) finishHandover(sl *slot) {
	h := sl.handover
	sl.handover = nil
	reset, moved, err := s.cfg.Sockets.ReplaceShard(sl.index, h.shard)
	s.countClosed("roll: close the predecessor's shard", reset, moved, err)
	s.shardGone(h.shard)
	s.steer()
}

// shardGone follows the Set's renumbering once the fresh shard closed or
// took a slot's number: the fresh shards above it move down one.
func (s *supervisor) shardGone(fresh int) {
	for _, sl := range s.slots {
		if h := sl.handover; h != nil && h.shard > fresh {
			h.shard--
		}
	}
}

// steer sends new connections away from every shard that must not get
// them: a successor's that is not ready, a draining predecessor's, the
// leaving slot's of a scale-down.
func (s *supervisor) steer() error {
	var away []int
	for _, sl := range s.slots {
		switch h := sl.handover; {
		case h == nil:
		case h.promoted:
			away = append(away, sl.index)
		default:
			away = append(away, h.shard)
		}
	}
	if sh := s.shrinking; sh != nil && !sh.unsteered {
		away = append(away, sh.slot.index)
	}
	if len(away) == 0 {
		return s.cfg.Sockets.Unsteer()
	}
	return s.cfg.Sockets.Steer(away...)
}

// refreshGroups follows the shards' groups while steering depends on
// them, and logs what changed.
func (s *supervisor) refreshGroups() {
	for _, line := range s.cfg.Sockets.Refresh() {
		s.log.Info(line)
	}
}

// steered says whether some shard is steered away from now.
func (s *supervisor) steered() bool {
	return s.handingOver() || (s.shrinking != nil && !s.shrinking.unsteered)
}

// changing says whether a roll, a scale-down or a handover is under way:
// what the pool's own changes (following the CPU limit, recycling) wait for.
func (s *supervisor) changing() bool {
	return s.roll != nil || s.shrinking != nil || s.handingOver()
}

// handingOver says whether some slot's handover is not done: until it is,
// the shards above the slots' own are not the scale paths' to change.
func (s *supervisor) handingOver() bool {
	for _, sl := range s.slots {
		if sl.handover != nil {
			return true
		}
	}
	return false
}

// draining says whether a predecessor waits for its queue to empty.
func (s *supervisor) draining() bool {
	for _, sl := range s.slots {
		if h := sl.handover; h != nil && h.promoted && !h.stopped {
			return true
		}
	}
	return false
}
