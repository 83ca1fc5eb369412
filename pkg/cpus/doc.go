// Package cpus reads how much CPU a container may use, from its cgroup
// (v2 cpu.max, v1 cpu.cfs_quota_us and cpu.cfs_period_us) and its affinity
// mask, and sizes a pool by it: one worker per CPU of the limit, rounded
// up, and the GOMAXPROCS each worker's share allows.
package cpus
