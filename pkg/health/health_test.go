package health

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/shardinit/shardinit/pkg/listen"
	"github.com/shardinit/shardinit/pkg/spawn"
)

type fixture struct {
	h    *Health
	mux  *http.ServeMux
	log  *bytes.Buffer
	pool *fakePool
}

// fakePool is a pool that has published st (once set) and whose loop
// answers alive.
type fakePool struct {
	mu    sync.Mutex
	st    *spawn.Snapshot
	alive error
}

func (p *fakePool) set(st spawn.Snapshot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st = &st
}

func (p *fakePool) Snapshot() (spawn.Snapshot, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st == nil {
		return spawn.Snapshot{}, false
	}
	return *p.st, true
}

func (p *fakePool) Alive(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.alive
}

func newFixture(t *testing.T, set *listen.Set) *fixture {
	t.Helper()
	f := &fixture{mux: http.NewServeMux(), log: &bytes.Buffer{}, pool: &fakePool{}}
	reg := prometheus.NewRegistry()
	h, err := New(Options{Logger: slog.New(slog.NewTextHandler(f.log, nil)), Registerer: reg, Listeners: set,
		Version: "test", Pool: f.pool})
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	h.Register(f.mux)
	f.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return f
}

func (f *fixture) get(path string) (int, string) {
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func status(phase spawn.Phase, minReady int, states ...string) spawn.Snapshot {
	st := spawn.Snapshot{Phase: phase, MinReady: minReady,
		Counters: spawn.Counters{Exits: map[string]uint64{}, Signals: map[string]uint64{}}}
	for i, s := range states {
		st.Slots = append(st.Slots, spawn.SlotSnapshot{Slot: i, State: s, PID: 100 + i, Generation: 1, Started: time.Now()})
	}
	return st
}

func TestProbes(t *testing.T) {
	f := newFixture(t, nil)
	for _, c := range []struct {
		name     string
		st       *spawn.Snapshot
		alive    error
		path     string
		code     int
		contains string
	}{
		{"no report yet", nil, nil, "/readyz", 503, "has not reported"},
		{"no report yet, loop answers", nil, nil, "/livez?verbose", 503, "[+]supervisor ok\n[-]workers failed: the supervisor has not reported yet"},
		{"all ready", ptr(status(spawn.Running, 2, "ready", "ready")), nil, "/readyz", 200, "ok"},
		{"verbose", ptr(status(spawn.Running, 2, "ready", "ready")), nil, "/readyz?verbose", 200, "[+]workers ok\nreadyz check passed"},
		{"one starting", ptr(status(spawn.Running, 2, "ready", "starting")), nil, "/readyz", 503, "[-]workers failed: 1 of 2 slots ready, 2 needed"},
		{"min-ready 1", ptr(status(spawn.Running, 1, "ready", "restarting")), nil, "/readyz", 200, "ok"},
		{"draining", ptr(status(spawn.Draining, 2, "ready", "ready")), nil, "/readyz", 503, "[-]draining failed: draining"},
		{"loop hangs", ptr(status(spawn.Running, 1, "ready")), spawn.ErrNotAnswering, "/livez", 503, "[-]supervisor failed"},
		{"stuck", ptr(status(spawn.Running, 2, "ready", "stuck")), nil, "/livez", 503, "stuck worker in slot 1"},
		{"live", ptr(status(spawn.Running, 2, "ready", "starting")), nil, "/livez?verbose", 200, "[+]supervisor ok\n[+]workers ok\nlivez check passed"},
	} {
		if c.st != nil {
			f.pool.set(*c.st)
		}
		f.pool.alive = c.alive
		code, body := f.get(c.path)
		if code != c.code || !strings.Contains(body, c.contains) {
			t.Errorf("%s: GET %s = %d %q, want %d with %q", c.name, c.path, code, body, c.code, c.contains)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// Options' zero value works: no logger, no metrics, no loop to ask.
func TestZeroOptions(t *testing.T) {
	h, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if h.Stopping() {
		t.Errorf("Stopping() = true without a pool, want false")
	}
	mux := http.NewServeMux()
	h.Register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz without a pool = %d, want 503", rec.Code)
	}
}

// Stopping is false until the supervisor reports a phase past running.
func TestStopping(t *testing.T) {
	f := newFixture(t, nil)
	if f.h.Stopping() {
		t.Errorf("Stopping() = true before any report, want false")
	}
	for phase, want := range map[spawn.Phase]bool{spawn.Running: false, spawn.Draining: true, spawn.Stopping: true, spawn.Killing: true} {
		f.pool.set(status(phase, 1, "ready"))
		if got := f.h.Stopping(); got != want {
			t.Errorf("phase %s: Stopping() = %v, want %v", phase, got, want)
		}
	}
}

// perWorker are the metrics read from the workers' processes, which
// cmd/shardinit's tests have.
var perWorker = map[string]bool{"shardinit_worker_resident_memory_bytes": true, "shardinit_worker_cpu_seconds_total": true}

func TestStatusAndMetrics(t *testing.T) {
	set, err := listen.Bind([]listen.Spec{{Name: "web", Network: "tcp4", Address: "127.0.0.1:0"}}, 2, listen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	f := newFixture(t, set)
	st := status(spawn.Running, 2, "ready", "stuck")
	st.Slots[1].Retiring = []int{99}
	st.Counters.Signals["SIGUSR1"] = 2
	f.pool.set(st)

	_, body := f.get("/status")
	var r Report
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("decode /status: %v\n%s", err, body)
	}
	if len(r.Slots) != 2 || r.Slots[1].State != "stuck" || r.Slots[1].PID != 101 || len(r.Listeners) != 1 || len(r.Listeners[0].Shards) != 2 {
		t.Errorf("/status = %+v, want 2 slots (slot 1 stuck, pid 101) and listener web with 2 shards", r)
	}
	families := scrape(t, f)
	for _, name := range MetricNames {
		if perWorker[name] {
			continue // read from /proc: these slots' PIDs are made up
		}
		if _, ok := families[name]; !ok {
			t.Errorf("/metrics has no %s", name)
		}
	}
	for name := range families {
		if !slices.Contains(MetricNames, name) {
			t.Errorf("/metrics has %s, which MetricNames does not list", name)
		}
	}
	if got := gaugeWithLabel(families["shardinit_workers"], "stopping"); got != 1 {
		t.Errorf("shardinit_workers{state=stopping} = %v, want 1 (a retiring worker)", got)
	}
	if got := len(families["shardinit_listener_queue_length"].GetMetric()); got != 2 {
		t.Errorf("%d queue length series, want one per shard (2)", got)
	}
}

func scrape(t *testing.T, f *fixture) map[string]*dto.MetricFamily {
	t.Helper()
	_, body := f.get("/metrics")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

func gaugeWithLabel(f *dto.MetricFamily, value string) float64 {
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetValue() == value {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}
