package spawn

import (
	"errors"
	"math"
)

// ErrNotSupported is defined for every platform, not only where it is
// returned, so callers can test for it with errors.Is without build tags.
var ErrNotSupported = errors.New("not supported on this platform")

const (
	// maxCPUBudget keeps float-to-int conversions defined when Cpuset is
	// unknown (zero) and a cgroup reports an absurdly large quota.
	maxCPUBudget = 1 << 20
)

// CPUs describes the processor budget of this process.
type CPUs struct {
	Quota  float64 // CPU limit in CPUs (quota/period), 0 when no limit is set
	Cpuset int     // CPUs this process may run on (sched affinity)
}

// Workers returns the default worker count: ceil(Quota), at least 1, at most
// Cpuset; Cpuset when no quota.
func (c CPUs) Workers() int {
	return max(1, int(math.Ceil(c.budget())))
}

// MaxWorkers returns the default of Config.MaxWorkers for a pool of
// workers: workers or Cpuset, whichever is more, so that scaling up
// (SIGTTIN) may reach one worker per CPU the process may run on.
func (c CPUs) MaxWorkers(workers int) int {
	return max(workers, c.Cpuset)
}

// WorkerGOMAXPROCS returns max(1, floor(budget/n)) where budget is Quota if
// set (capped at Cpuset) else Cpuset.
func (c CPUs) WorkerGOMAXPROCS(n int) int {
	// A non-positive worker count still runs one worker.
	n = max(n, 1)
	return max(1, int(math.Floor(c.budget()/float64(n))))
}

// budget is the CPU time the process can actually use: a quota above the
// affinity mask cannot be consumed, and a zero Cpuset means "unknown", not
// "none".
func (c CPUs) budget() float64 {
	b := float64(c.Cpuset)
	if c.Quota > 0 && (c.Cpuset <= 0 || c.Quota < b) {
		b = c.Quota
	}
	return min(b, maxCPUBudget)
}
