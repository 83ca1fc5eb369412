package spawn

import (
	"math/rand/v2"
	"time"
)

// Recycling replaces a worker before it rots, as gunicorn's --max-requests
// and uWSGI's --max-worker-lifetime and --reload-on-rss do, without the
// server's help: after MaxWorkerLifetime, or once its resident memory is
// above MaxWorkerMemory. A recycle is a roll of one slot, through the same
// handover that loses no connection, and it waits while a roll, a
// scale-down or another handover is under way.

// memoryEvery is how often the workers' memory is read when it is limited:
// one look at /proc for all of them.
const memoryEvery = time.Second

// lifetimeOver is when a worker started at now has run its lifetime: up to
// a tenth later than MaxWorkerLifetime, so that workers that started
// together are not all due at once. Zero when there is no limit.
func (s *supervisor) lifetimeOver(now time.Time) time.Time {
	d := s.cfg.MaxWorkerLifetime
	if d <= 0 {
		return time.Time{}
	}
	return now.Add(d + rand.N(d/10+1))
}

// recycleDue is the next time stepRecycle has something to look at; what
// is overdue already waits for the roll or scale in its way, whose end
// wakes the loop.
func (s *supervisor) recycleDue(now time.Time) time.Time {
	if s.phase != Running || !s.recycles() {
		return time.Time{}
	}
	var due time.Time
	later := func(t time.Time) {
		if t.After(now) && (due.IsZero() || t.Before(due)) {
			due = t
		}
	}
	for _, sl := range s.slots {
		if sl.current != nil {
			later(sl.current.recycleAt)
		}
	}
	if s.cfg.MaxWorkerMemory > 0 {
		later(s.nextMemory)
	}
	return due
}

// stepRecycle starts the recycle of the first slot whose worker is due,
// one slot at a time.
func (s *supervisor) stepRecycle(now time.Time) {
	if s.phase != Running || !s.recycles() || s.changing() {
		return
	}
	if s.cfg.MaxWorkerMemory > 0 && !now.Before(s.nextMemory) {
		s.nextMemory = now.Add(memoryEvery)
		s.readMemory()
	}
	for _, sl := range s.slots {
		w := sl.current
		if w == nil || !w.ready || sl.successor != nil || sl.leaving {
			continue
		}
		switch {
		case !w.recycleAt.IsZero() && !now.Before(w.recycleAt):
			s.log.Info("recycling worker: it ran its --max-worker-lifetime", "slot", sl.index, "pid", w.pid,
				"ran", now.Sub(w.started).Round(time.Second), "max_worker_lifetime", s.cfg.MaxWorkerLifetime)
			s.recycle(sl, RestartLifetime, now)
			return
		case s.cfg.MaxWorkerMemory > 0 && w.resident > s.cfg.MaxWorkerMemory:
			s.log.Info("recycling worker: its resident memory is above --max-worker-memory", "slot", sl.index, "pid", w.pid,
				"resident_bytes", w.resident, "max_worker_memory", s.cfg.MaxWorkerMemory)
			s.recycle(sl, RestartMemory, now)
			return
		}
	}
}

// readMemory reads the resident memory of every current worker's session.
func (s *supervisor) readMemory() {
	sessions := map[int]bool{}
	for _, sl := range s.slots {
		if sl.current != nil {
			sessions[sl.current.pid] = true
		}
	}
	resident := s.os.resident(sessions)
	for _, sl := range s.slots {
		if w := sl.current; w != nil {
			w.resident = resident[w.pid]
		}
	}
}

// recycles says whether a lifetime or a memory limit is set: without
// one, the loop's passes look at no slot for it.
func (s *supervisor) recycles() bool {
	return s.cfg.MaxWorkerLifetime > 0 || s.cfg.MaxWorkerMemory > 0
}

// recycle rolls one slot, and starts its successor in this pass.
func (s *supervisor) recycle(sl *slot, why string, now time.Time) {
	s.roll = &roll{pending: []int{sl.index}, started: now, why: why}
	s.stepRoll(now)
}
