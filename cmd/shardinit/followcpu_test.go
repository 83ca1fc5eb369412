package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/shardinit/shardinit/pkg/cpus"
)

// The pool follows a change of the CPU limit, as a running pod's in-place
// resize makes it: the kubelet writes the container's cgroup, and so does
// this test, with shardinit as PID 1 inside that cgroup, under keep-alive
// and per-request load. 1 -> 2 -> 1 workers, no failed request, no lost
// connection. (A machine of 2 CPUs cannot go to 4: the pool never exceeds
// the cpuset, which a quota above it could not use.)
func TestPoolFollowsCPULimit(t *testing.T) {
	t.Parallel()
	if budget, _ := cpus.Detect(); budget.Cpuset < 2 {
		t.Skipf("needs 2 CPUs, has %d", budget.Cpuset)
	}
	dir := cpuCgroup(t, 100_000) // 1 CPU
	port, p := freePort(t), newProbe(t)
	args := append([]string{"--listen", listenArg("http", port), "--cpu-limit-check", "200ms"}, p.flag()...)
	in := startShardinit(t, start{pid1: true, launch: []string{"launch-in-cgroup", dir}}, append(append(args, "--"), worker("http")...)...)
	p.waitCode("/readyz", http.StatusOK)
	waitServing(t, in, port)
	waitPool(t, p, 1, 1)
	tr := startTraffic(t, p, port, 4)
	for _, step := range []struct{ quota, workers int }{{200_000, 2}, {100_000, 1}} {
		setQuota(t, dir, step.quota)
		waitPool(t, p, step.workers, float64(step.quota)/100_000)
	}
	tr.stop(t, "while the pool followed its CPU limit 1 -> 2 -> 1")
	families := p.metrics()
	if n := sample(families["shardinit_cpu_limit_changes_total"]); n != 2 {
		t.Errorf("%v changes of the CPU limit counted, want 2", n)
	}
	if n := sample(families["shardinit_lost_connections_total"]); n != 0 {
		t.Errorf("%v connections lost", n)
	}
	in.stopCleanly()
}

// waitPool waits until the pool has n ready slots, no roll or scale under
// way, and /status shows the CPU limit it follows.
func waitPool(t *testing.T, p probe, n int, limit float64) {
	t.Helper()
	eventually(t, 30*time.Second, strconv.Itoa(n)+" ready workers for a CPU limit of "+strconv.FormatFloat(limit, 'g', -1, 64), func() bool {
		st := p.status()
		if len(st.Slots) != n || st.Rolling || st.CPU.Limit != limit || !st.CPU.Following {
			return false
		}
		for _, sl := range st.Slots {
			if sl.State != "ready" || len(sl.Retiring) > 0 {
				return false
			}
		}
		return true
	})
}

func setQuota(t *testing.T, dir string, quota int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte(strconv.Itoa(quota)), 0o644); err != nil {
		t.Fatal(err)
	}
}
