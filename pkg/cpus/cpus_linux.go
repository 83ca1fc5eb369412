package cpus

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Detect reads the cgroup CPU limit (v2 cpu.max, or v1
// cpu.cfs_quota_us/cpu.cfs_period_us) and the affinity mask.
//
// Missing cgroup information is not an error: Quota is then 0. If the cgroup
// files are malformed, the error is returned together with a Budget whose
// Cpuset is valid, so a caller may still fall back to it.
func Detect() (Budget, error) {
	n, err := affinityCPUs()
	if err != nil {
		return Budget{}, err
	}
	q, err := cgroupFS{readFile: os.ReadFile}.quota()
	return Budget{Quota: q, Cpuset: n}, err
}

func affinityCPUs() (int, error) {
	var set unix.CPUSet
	err := unix.SchedGetaffinity(0, &set)
	if errors.Is(err, unix.EINVAL) {
		// unix.CPUSet holds 1024 CPUs; larger machines make the kernel
		// reject it, while the runtime sizes its mask dynamically and
		// also counts the startup affinity.
		return runtime.NumCPU(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("get CPU affinity: %w", err)
	}
	return set.Count(), nil
}
