package main

import (
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/shardinit/shardinit/internal/preload"
)

// --max-worker-lifetime: every worker is replaced after its lifetime, one
// slot at a time, under load, and no request fails.
func TestRecycleOnLifetime(t *testing.T) {
	t.Parallel()
	in, p := startRecycling(t, "http", "--max-worker-lifetime", "1s")
	tr := startTraffic(t, p, in.port, 4)
	eventually(t, 60*time.Second, "four workers recycled at the end of their lifetime", func() bool {
		return sample(p.metrics()["shardinit_worker_restarts_total"], "reason", "lifetime") >= 4
	})
	tr.stop(t, "while workers were recycled at the end of their lifetime")
	in.stopCleanly()
}

// --max-worker-memory: workers that leak are replaced once their resident
// memory is above the limit, under load, and no request fails.
func TestRecycleOnMemory(t *testing.T) {
	t.Parallel()
	const limit = 80 << 20
	in, p := startRecycling(t, "grow", "--max-worker-memory", "80Mi")
	tr := startTraffic(t, p, in.port, 4)
	eventually(t, 90*time.Second, "three leaking workers recycled", func() bool {
		return sample(p.metrics()["shardinit_worker_restarts_total"], "reason", "memory") >= 3
	})
	tr.stop(t, "while leaking workers were recycled")
	seen := regexp.MustCompile(`above --max-worker-memory.* resident_bytes=(\d+)`).FindAllStringSubmatch(in.log.String(), -1)
	if len(seen) < 3 {
		t.Fatalf("%d recycles for memory in the log, want 3:\n%s", len(seen), in.log.String())
	}
	for _, m := range seen {
		if n, _ := strconv.Atoi(m[1]); n <= limit {
			t.Errorf("a worker was recycled at %d resident bytes, not above the limit %d", n, limit)
		}
	}
	in.stopCleanly()
}

type recycling struct {
	*instance
	port int
}

// startRecycling starts two workers of mode with the recycle flags.
func startRecycling(t *testing.T, mode string, flags ...string) (recycling, probe) {
	port, p := freePort(t), newProbe(t)
	args := append([]string{"--workers", "2", "--listen", listenArg("http", port)}, p.flag()...)
	args = append(append(append(args, flags...), "--"), worker(mode)...)
	in := startShardinit(t, start{}, args...)
	p.waitCode("/readyz", http.StatusOK)
	waitServing(t, in, port)
	return recycling{in, port}, p
}

// Recycling holds for servers we did not write: gunicorn (its master and
// its worker, one session) and nginx (--preload, QUIT), each worker
// replaced at the end of its lifetime under load, and no request on a new
// connection fails.
func TestRecycleRealServers(t *testing.T) {
	t.Parallel()
	for _, srv := range realServers {
		if srv.name != "gunicorn" && srv.name != "nginx" {
			continue
		}
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			needServer(t, srv.path)
			if srv.name == "nginx" && preload.Library() == nil {
				t.Skip("built without the LD_PRELOAD shim: run make test (it compiles shim/ and tests with -tags shim)")
			}
			in, port, p := startRealServer(t, srv, 2, "--max-worker-lifetime", "2s")
			tr := startTraffic(t, p, port, 4)
			eventually(t, 90*time.Second, "four "+srv.name+" workers recycled", func() bool {
				return sample(p.metrics()["shardinit_worker_restarts_total"], "reason", "lifetime") >= 4
			})
			tr.stopNewConnections(t, "while "+srv.name+" workers were recycled at the end of their lifetime")
			waitCatchTERM(t, p)
			in.stopCleanly()
		})
	}
}
