package cpus

import "math"

const (
	// maxCPUBudget keeps float-to-int conversions defined when Cpuset is
	// unknown (zero) and a cgroup reports an absurdly large quota.
	maxCPUBudget = 1 << 20
)

// Budget is the CPU time this process may use: the cgroup limit and the
// affinity mask, from which the pool is sized.
type Budget struct {
	Quota  float64 // CPU limit in CPUs (quota/period), 0 when no limit is set
	Cpuset int     // CPUs this process may run on (sched affinity)
}

// Workers returns the default worker count: ceil(Quota), at least 1, at most
// Cpuset; Cpuset when no quota.
func (c Budget) Workers() int {
	return max(1, int(math.Ceil(c.budget())))
}

// MaxWorkers returns the default of spawn.Config.MaxWorkers for a pool of
// workers: workers or Cpuset, whichever is more, so that scaling up
// (SIGTTIN) may reach one worker per CPU the process may run on.
func (c Budget) MaxWorkers(workers int) int {
	return max(workers, c.Cpuset)
}

// WorkerGOMAXPROCS returns max(1, floor(budget/n)) where budget is Quota if
// set (capped at Cpuset) else Cpuset.
func (c Budget) WorkerGOMAXPROCS(n int) int {
	// A non-positive worker count still runs one worker.
	n = max(n, 1)
	return max(1, int(math.Floor(c.budget()/float64(n))))
}

// budget is the CPU time the process can actually use: a quota above the
// affinity mask cannot be consumed, and a zero Cpuset means "unknown", not
// "none".
func (c Budget) budget() float64 {
	b := float64(c.Cpuset)
	if c.Quota > 0 && (c.Cpuset <= 0 || c.Quota < b) {
		b = c.Quota
	}
	return min(b, maxCPUBudget)
}
