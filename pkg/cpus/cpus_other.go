//go:build !linux

package cpus

import (
	"errors"
	"runtime"
)

// Detect reads the cgroup CPU limit (v2 cpu.max, or v1
// cpu.cfs_quota_us/cpu.cfs_period_us) and the affinity mask.
//
// Cgroups and affinity are Linux concepts, so elsewhere it returns
// errors.ErrUnsupported together with a Budget holding runtime.NumCPU() as Cpuset,
// which callers may use as a fallback.
func Detect() (Budget, error) {
	return Budget{Cpuset: runtime.NumCPU()}, errors.ErrUnsupported
}
