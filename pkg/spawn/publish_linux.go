package spawn

import (
	"maps"
	"reflect"
	"slices"
)

// publish makes the snapshot of the pool at the end of each pass, and
// stores it for Pool.Snapshot when it differs from the last: nothing has to
// say that it changed something, so no change can be left out. It logs the
// changes of readiness and liveness.
func (s *supervisor) publish() {
	// The counters' maps are the supervisor's own until the snapshot is
	// kept: a pass that changed nothing copies neither.
	st := Snapshot{Phase: s.phase, MinReady: s.minReady(), Rolling: s.roll != nil, Changing: s.changing(), CPU: s.follow.seen, FollowsCPU: s.cfg.Follow != nil,
		Slots: make([]SlotSnapshot, len(s.slots)), Counters: s.counters}
	// One look at every worker for all slots: publish runs every pass.
	retiring := map[*slot][]int{}
	for pid, w := range s.byPID {
		if sl := w.slot; w != sl.current && w != sl.successor {
			retiring[sl] = append(retiring[sl], pid)
		}
	}
	for i, sl := range s.slots {
		st.Slots[i] = s.slotStatus(sl, retiring[sl])
	}
	old := s.snapshot.Load()
	if old != nil && reflect.DeepEqual(*old, st) {
		return
	}
	st.Counters.Exits, st.Counters.Signals = maps.Clone(s.counters.Exits), maps.Clone(s.counters.Signals)
	st.Counters.Restarts = maps.Clone(s.counters.Restarts)
	s.snapshot.Store(&st)
	if old == nil || old.Ready() != st.Ready() {
		s.log.Info("readiness changed", "ready", st.Ready(), "phase", st.Phase,
			"ready_slots", st.ReadySlots(), "min_ready", st.MinReady)
	}
	if old != nil && !slices.Equal(old.Stuck(), st.Stuck()) {
		s.log.Info("liveness changed", "stuck_slots", st.Stuck())
	}
}

// minReady is --min-ready, or every slot that is not leaving or joining,
// whichever is fewer: scaling does not make the pool unready (with
// --ready-on accept, a new slot's worker is not ready at once).
func (s *supervisor) minReady() int {
	staying := 0
	for _, sl := range s.slots {
		if !sl.leaving && !sl.joining {
			staying++
		}
	}
	if s.cfg.MinReady <= 0 || s.cfg.MinReady > staying {
		return staying
	}
	return s.cfg.MinReady
}

func (s *supervisor) slotStatus(sl *slot, retiring []int) SlotSnapshot {
	ss := SlotSnapshot{Slot: sl.index, Generation: sl.generation, Restarts: max(sl.generation-1, 0), LastExit: sl.lastExit, State: StateStopped}
	if w := sl.current; w != nil {
		ss.PID, ss.Started, ss.StatusLine, ss.State = w.pid, w.started, w.status, workerState(w)
	} else if !sl.restartAt.IsZero() {
		ss.State = StateRestarting
	}
	if sl.successor != nil {
		ss.Successor = sl.successor.pid
	}
	ss.Retiring = retiring
	slices.Sort(ss.Retiring)
	ss.Leftovers = s.leftoversOf(sl)
	return ss
}

func workerState(w *worker) string {
	switch {
	case w.stopping:
		return StateStopping
	case w.stuck:
		return StateStuck
	case w.ready:
		return StateReady
	}
	return StateStarting
}
