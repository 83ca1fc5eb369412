package spawn

import "time"

// Following the CPU limit: Kubernetes resizes a running pod's CPU limit in
// place, and the pool follows, as it was sized from that limit at start.

// follow is the CPU limit as the pool follows it.
type follow struct {
	next       time.Time // the next read
	seen       CPUShare  // as last read
	want       int       // the slots the last change asks for; 0: reached
	gomaxprocs int       // what new workers get
	failed     bool      // the last read failed (and was logged)
}

// stepFollow reads the CPU limit when it is due, and moves the pool one
// slot toward what the last change asked for, when nothing is in the way.
func (s *supervisor) stepFollow(now time.Time) {
	if s.cfg.Follow == nil || s.phase != Running {
		return
	}
	if !now.Before(s.follow.next) {
		s.follow.next = now.Add(s.cfg.FollowEvery)
		s.readCPU()
	}
	if s.follow.want == 0 || s.changing() || s.joining() {
		return
	}
	switch n := len(s.slots); {
	case n < s.follow.want:
		if !s.scaleUp(now) {
			s.follow.want = 0 // logged and counted; the next change tries again
		}
	case n > s.follow.want:
		if !s.scaleDown(now) {
			s.follow.want = 0
		}
	default:
		s.follow.want = 0
		s.rollStale(now)
	}
}

// readCPU takes a change of the CPU limit's share as the pool's target.
func (s *supervisor) readCPU() {
	share, err := s.cfg.Follow()
	if err != nil {
		if !s.follow.failed {
			s.log.Warn("CPU limit unreadable; the pool keeps its size", "err", err)
		}
		s.follow.failed = true
		return
	}
	s.follow.failed = false
	if share == s.follow.seen {
		return
	}
	was := s.follow.seen
	s.follow.seen, s.follow.gomaxprocs = share, share.GOMAXPROCS
	s.follow.want = min(max(share.Workers, 1), s.cfg.MaxWorkers)
	s.counters.CPULimitChanges++
	s.log.Info("CPU limit changed; the pool follows", "cpu_limit", share.Limit, "was", was.Limit, "cpuset", share.Cpuset,
		"workers", s.follow.want, "from", len(s.slots), "gomaxprocs", share.GOMAXPROCS)
}

// joining says whether a slot added by a scale-up has no ready worker yet.
func (s *supervisor) joining() bool {
	for _, sl := range s.slots {
		if sl.joining {
			return true
		}
	}
	return false
}

// givenGOMAXPROCS is the GOMAXPROCS a worker started now gets: none when
// the workers' environment sets its own.
func (s *supervisor) givenGOMAXPROCS() int {
	if hasEnv(s.cfg.Env, "GOMAXPROCS") {
		return 0
	}
	return s.follow.gomaxprocs
}

// rollStale rolls the workers whose GOMAXPROCS the limit made stale, once
// the pool has its new size.
func (s *supervisor) rollStale(now time.Time) {
	var stale []int
	for _, sl := range s.slots {
		if w := sl.current; w != nil && w.gomaxprocs != 0 && w.gomaxprocs != s.follow.gomaxprocs {
			stale = append(stale, sl.index)
		}
	}
	if len(stale) == 0 {
		return
	}
	s.log.Info("rolling the workers whose GOMAXPROCS the CPU limit changed", "slots", len(stale), "gomaxprocs", s.follow.gomaxprocs)
	s.roll = &roll{pending: stale, started: now, why: RestartScale}
	s.stepRoll(now)
}
