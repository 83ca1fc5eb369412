package spawn

import (
	"slices"
	"time"
)

// roll is a rolling restart in progress: each slot in turn gets a
// successor on its own sockets, which takes over once it is ready.
type roll struct {
	pending []int // slots that still need a successor, in order
	started time.Time
	failed  bool
	// why its successors are started: RestartRoll for a rolling restart,
	// RestartLifetime or RestartMemory for the recycle of one slot.
	why string
}

// requestRestart begins a rolling restart of every slot. Asked again
// during one, it starts over from the current state: a slot whose
// successor is already on its way keeps it (never two for one slot), every
// other slot is rolled again.
func (s *supervisor) requestRestart(why string, now time.Time) {
	if s.phase != Running {
		s.log.Info("restart ignored while stopping", "reason", why)
		return
	}
	pending := make([]int, 0, len(s.slots))
	for _, sl := range s.slots {
		// A slot whose predecessor still drains is rolled again once
		// that handover is done.
		if sl.successor == nil && !sl.leaving {
			pending = append(pending, sl.index)
		}
	}
	if s.roll != nil {
		s.log.Info("rolling restart starts over", "reason", why, "slots", len(pending))
	} else {
		s.log.Info("rolling restart", "reason", why, "slots", len(s.slots), "surge", s.cfg.RestartSurge)
	}
	s.roll = &roll{pending: pending, started: now, why: RestartRoll}
	s.counters.Rolls++
}

// stepRoll starts successors while fewer than --restart-surge slots are
// rolling, and ends the roll when every slot has been rolled.
func (s *supervisor) stepRoll(now time.Time) {
	if s.roll == nil || s.shrinking != nil {
		return // a roll waits for a scale-down to end
	}
	for len(s.roll.pending) > 0 && s.rolling() < s.cfg.RestartSurge {
		sl := s.slots[s.roll.pending[0]]
		if sl.handover != nil {
			break // its last handover is not done
		}
		s.roll.pending = s.roll.pending[1:]
		if sl.current == nil {
			continue // waiting for a restart: its next worker is new anyway
		}
		s.startSuccessor(sl, now)
	}
	if len(s.roll.pending) == 0 && s.rolling() == 0 {
		if !s.roll.failed && s.roll.why == RestartRoll {
			took := now.Sub(s.roll.started)
			s.counters.RollDurations.observe(took)
			s.log.Info("rolling restart done", "took", took.Round(time.Millisecond))
		}
		s.roll = nil
	}
}

func (s *supervisor) rolling() int {
	n := 0
	for _, sl := range s.slots {
		// A predecessor that was told to stop no longer holds up the roll,
		// as when it shares its successor's shard.
		if sl.successor != nil || (sl.handover != nil && !sl.handover.stopped) {
			n++
		}
	}
	return n
}

// startSettle is how long a roll's successor must run, with --ready-on
// start, before it takes over: long enough to catch a new version that
// crashes as it starts (the roll then stops and the old workers serve on),
// and it paces the roll slot by slot instead of replacing every worker at
// once.
const startSettle = time.Second

func (s *supervisor) startSuccessor(sl *slot, now time.Time) {
	shard, fresh := s.freshShard(sl)
	if !fresh {
		shard = sl.index
	}
	w, err := s.spawn(sl, shard, s.roll.why, now)
	if err != nil {
		if fresh {
			s.dropFresh(sl)
		}
		s.abortRoll(sl, "successor not started: "+err.Error())
		return
	}
	sl.successor = w
	if s.settles(w) {
		w.settleAt = now.Add(startSettle)
	} else {
		w.readyBy = now.Add(s.cfg.ReadyTimeout)
	}
}

// promote makes sl's ready successor its current worker. The predecessor
// is asked to stop at once when they share a shard, or once its own shard
// has drained (stepHandovers).
func (s *supervisor) promote(sl *slot, now time.Time) {
	old, w := sl.current, sl.successor
	sl.current, sl.successor, sl.backlog = w, nil, backlog{}
	w.readyBy, w.settleAt = time.Time{}, time.Time{}
	if sl.handover != nil {
		if old != nil {
			s.log.Info("worker replaced; the predecessor serves out its own queue", "slot", sl.index, "pid", w.pid, "predecessor", old.pid)
		}
		s.promoteOnto(sl, old, now)
		return
	}
	if old != nil {
		s.log.Info("worker replaced", "slot", sl.index, "pid", w.pid, "predecessor", old.pid)
		s.retire(old, now)
	}
}

// checkSuccessors promotes successors that have settled (--ready-on
// start) and aborts the roll when one is not ready in time.
func (s *supervisor) checkSuccessors(now time.Time) {
	for _, sl := range s.slots {
		w := sl.successor
		switch {
		case w == nil:
		case !w.settleAt.IsZero() && !now.Before(w.settleAt):
			s.markReady(w, now)
		case !w.readyBy.IsZero() && !now.Before(w.readyBy):
			s.abandon(sl, w, now)
			s.abortRoll(sl, s.notReady()+" within "+s.cfg.ReadyTimeout.String())
		}
	}
}

// notReady says what a successor that took too long did not do.
func (s *supervisor) notReady() string {
	switch s.cfg.ReadyOn {
	case ReadyOnAccept:
		return "successor not seen accepting"
	case ReadyOnNotify:
		return "successor sent no READY=1"
	}
	return "successor not ready"
}

// abortRoll stops the roll after a failed slot; the workers still running
// keep serving, and successors already on their way may finish.
func (s *supervisor) abortRoll(sl *slot, why string) {
	s.counters.RollFailures++
	if s.roll == nil {
		return
	}
	s.log.Error("rolling restart aborted: the previous worker keeps serving", "slot", sl.index,
		"reason", why, "slots_left", len(s.roll.pending))
	s.roll.pending, s.roll.failed = slices.Delete(s.roll.pending, 0, len(s.roll.pending)), true
}
