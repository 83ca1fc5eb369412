package gobench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/shardinit/shardinit/pkg/health"
	"github.com/shardinit/shardinit/pkg/listen"
	"github.com/shardinit/shardinit/pkg/spawn"
)

// The pool re-executes this binary as its exec stage (LISTEN_PID needs the
// worker's own PID), so the stage must run before anything else.
func TestMain(m *testing.M) {
	spawn.ExecStage()
	os.Exit(m.Run())
}

func envInts(name string, def []int) []int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var out []int
	for _, f := range strings.Fields(v) {
		if n, err := strconv.Atoi(f); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// runPool runs a pool of cfg until until(status) holds, then stops it; it
// returns how long until held, counted from just before Run. The pool's
// snapshot is looked at whenever the pool logs (it logs a readiness change
// right after storing the snapshot, so readiness is timed exactly) and
// every half millisecond (which bounds the error of everything else).
func runPool(b *testing.B, cfg spawn.Config, until func(spawn.Snapshot) bool) time.Duration {
	b.Helper()
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 5 * time.Second
	}
	var pool *spawn.Pool
	reached := make(chan struct{})
	var once sync.Once
	look := func() {
		if st, ok := pool.Snapshot(); ok && until(st) {
			once.Do(func() { close(reached) })
		}
	}
	cfg.Logger = slog.New(onLog{look})
	pool, err := spawn.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	signals, stop := spawn.Notify()
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	t0 := time.Now()
	go func() {
		_, err := pool.Run(ctx, signals)
		done <- err
	}()
	go func() {
		tick := time.NewTicker(500 * time.Microsecond)
		defer tick.Stop()
		for {
			look()
			select {
			case <-tick.C:
			case <-reached:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	var took time.Duration
	select {
	case <-reached:
		took = time.Since(t0)
	case err := <-done:
		b.Fatalf("pool ended early: %v", err)
	case <-time.After(2 * time.Minute):
		cancel()
		<-done
		b.Fatal("pool did not get there in 2 minutes")
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return took
}

// BenchmarkSpawn starts a pool of N workers (sleep, ready once started),
// waits until every slot is ready, and stops it. ms-to-ready is the start
// alone; ns/op includes the stop.
func BenchmarkSpawn(b *testing.B) {
	for _, n := range envInts("BENCH_SPAWN_N", []int{1, 8, 32, 128}) {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			var ready time.Duration
			for b.Loop() {
				ready += runPool(b, spawn.Config{Command: []string{"sleep", "3600"}, Workers: n}, spawn.Snapshot.Ready)
			}
			b.ReportMetric(float64(ready.Microseconds())/1000/float64(b.N), "ms-to-ready/op")
		})
	}
}

// stormScript forks a middle process that forks N children which exit at
// once (zombies of the middle), notes the time, and exits: the N zombies
// are orphaned all together, handed to the pool (the subreaper) and reaped
// there. The worker itself waits for the middle and then sleeps.
const stormScript = `
import os, sys, time, signal
n, mark = int(sys.argv[1]), sys.argv[2]
mid = os.fork()
if mid == 0:
    for _ in range(n):
        if os.fork() == 0:
            os._exit(0)
    time.sleep(0.2)  # let the last children exit: all are zombies now
    with open(mark + ".tmp", "w") as f:
        f.write(str(time.time_ns()))
    os.rename(mark + ".tmp", mark)
    os._exit(0)
os.waitpid(mid, 0)
signal.pause()
`

// BenchmarkReap times the reaping of an orphan storm: from the moment N
// zombies lose their parent until the pool has reaped every one.
func BenchmarkReap(b *testing.B) {
	n := 10000
	if v := envInts("BENCH_ORPHANS", nil); len(v) > 0 {
		n = v[0]
	}
	b.Run(fmt.Sprintf("orphans=%d", n), func(b *testing.B) {
		var reap time.Duration
		for b.Loop() {
			mark := filepath.Join(b.TempDir(), "orphaned-at")
			var reapedAt time.Time
			runPool(b, spawn.Config{Command: []string{"python3", "-c", stormScript, strconv.Itoa(n), mark}, Workers: 1},
				func(st spawn.Snapshot) bool {
					if st.Counters.OrphansReaped >= uint64(n) {
						reapedAt = time.Now()
						return true
					}
					return false
				})
			raw, err := os.ReadFile(mark)
			if err != nil {
				b.Fatal(err)
			}
			ns, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			reap += reapedAt.Sub(time.Unix(0, ns))
		}
		b.ReportMetric(float64(reap.Microseconds())/1000/float64(b.N), "ms-to-reap/op")
		b.ReportMetric(float64(reap.Nanoseconds())/float64(b.N)/float64(n), "ns/orphan")
	})
}

// statusOf is a pool of n ready workers, as the supervisor reports it.
func statusOf(n int) spawn.Snapshot {
	st := spawn.Snapshot{Phase: spawn.Running, MinReady: n, Counters: spawn.Counters{
		Starts: uint64(n), Exits: map[string]uint64{"clean": 1, "signal": 2}, Signals: map[string]uint64{"SIGHUP": 1}}}
	for i := range n {
		st.Slots = append(st.Slots, spawn.SlotSnapshot{Slot: i, State: spawn.StateReady, PID: 1000 + i,
			Generation: 1, Started: time.Now()})
	}
	return st
}

// scrapeTarget binds n shards on 127.0.0.1 (their queues are read at
// scrape time), and serves health's /status and the registry's /metrics.
func scrapeTarget(b *testing.B, n int) http.Handler {
	b.Helper()
	specs, err := listen.Specs([]string{"http=127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	set, err := listen.Bind(specs, n, listen.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { set.Close() })
	reg := prometheus.NewRegistry()
	h, err := health.New(health.Options{Registerer: reg, Listeners: set, Version: "bench",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Pool: fixedPool{statusOf(n)}})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

func benchScrape(b *testing.B, path string) {
	for _, n := range []int{1, 8, 32, 128} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			handler := scrapeTarget(b, n)
			req := httptest.NewRequest(http.MethodGet, path, nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				handler.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d", path, w.Code)
				}
			}
		})
	}
}

// BenchmarkMetricsScrape renders /metrics for a pool of N workers, with
// the queue of each of their N shards read from the kernel.
func BenchmarkMetricsScrape(b *testing.B) { benchScrape(b, "/metrics") }

// BenchmarkStatus renders /status for the same pools.
func BenchmarkStatus(b *testing.B) { benchScrape(b, "/status") }

// fixedPool is a pool whose snapshot never changes.
type fixedPool struct{ st spawn.Snapshot }

func (p fixedPool) Snapshot() (spawn.Snapshot, bool) { return p.st, true }
func (fixedPool) Alive(context.Context) error        { return nil }

// onLog is a log handler that discards every record after calling look.
type onLog struct{ look func() }

func (h onLog) Enabled(context.Context, slog.Level) bool  { return true }
func (h onLog) Handle(context.Context, slog.Record) error { h.look(); return nil }
func (h onLog) WithAttrs([]slog.Attr) slog.Handler        { return h }
func (h onLog) WithGroup(string) slog.Handler             { return h }
