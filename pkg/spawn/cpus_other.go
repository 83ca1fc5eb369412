//go:build !linux

package spawn

import "runtime"

// DetectCPUs reads the cgroup CPU limit (v2 cpu.max, or v1
// cpu.cfs_quota_us/cpu.cfs_period_us) and the affinity mask.
//
// Cgroups and affinity are Linux concepts, so elsewhere it returns
// ErrNotSupported together with a CPUs holding runtime.NumCPU() as Cpuset,
// which callers may use as a fallback.
func DetectCPUs() (CPUs, error) {
	return CPUs{Cpuset: runtime.NumCPU()}, ErrNotSupported
}
