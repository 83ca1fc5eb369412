package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/shardinit/shardinit/internal/procstat"
	"github.com/shardinit/shardinit/internal/testworker"
	"github.com/shardinit/shardinit/pkg/health"
	"github.com/shardinit/shardinit/pkg/spawn"
)

// probe is shardinit's health address in a test.
type probe struct {
	t      *testing.T
	addr   string
	client *http.Client // how it is reached: client, or another namespace's
}

func newProbe(t *testing.T) probe {
	return probe{t, fmt.Sprintf("127.0.0.1:%d", freePort(t)), client}
}

func (p probe) flag() []string { return []string{"--health-addr", p.addr} }

// code is the HTTP status of path (0 if the request failed).
func (p probe) code(path string) (int, string) {
	resp, err := p.client.Get("http://" + p.addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	return resp.StatusCode, string(buf[:n])
}

func (p probe) waitCode(path string, want int) {
	p.t.Helper()
	eventually(p.t, 10*time.Second, fmt.Sprintf("GET %s to answer %d", path, want), func() bool {
		code, _ := p.code(path)
		return code == want
	})
}

func (p probe) status() health.Report {
	p.t.Helper()
	r, err := p.report()
	if err != nil {
		p.t.Fatalf("GET /status: %v", err)
	}
	return r
}

// report is /status, or why it could not be had.
func (p probe) report() (health.Report, error) {
	var r health.Report
	resp, err := p.client.Get("http://" + p.addr + "/status")
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("GET /status: %s", resp.Status)
	}
	return r, json.NewDecoder(resp.Body).Decode(&r)
}

func (p probe) metrics() map[string]*dto.MetricFamily {
	p.t.Helper()
	resp, err := p.client.Get("http://" + p.addr + "/metrics")
	if err != nil {
		p.t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		p.t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// sample is the sample of family whose labels include want (name=value).
func sample(f *dto.MetricFamily, want ...string) float64 {
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(want); i += 2 {
			match = match && labels[want[i]] == want[i+1]
		}
		if match {
			return m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
		}
	}
	return -1
}

// makeReady lets a notify-mode test worker send READY=1.
func makeReady(t *testing.T, dir string, pid int) {
	t.Helper()
	if err := os.WriteFile(testworker.ReadyFile(dir, pid), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// With --ready-on notify, /readyz waits for READY=1 from every worker, and
// a worker that exits makes it 503 until its successor is ready.
func TestReadyOnNotify(t *testing.T) {
	t.Parallel()
	p, dir := newProbe(t), t.TempDir()
	in, _ := startPool(t, start{}, 2, append(p.flag(), "--ready-on", "notify"), "notify", dir)
	pids := waitWorkers(t, in, 2, "notify")
	if code, body := p.code("/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz before READY=1: %d %s, want 503", code, body)
	}
	makeReady(t, dir, pids[0])
	eventually(t, 10*time.Second, "one slot ready", func() bool {
		_, body := p.code("/readyz")
		return strings.Contains(body, "1 of 2 slots ready")
	})
	makeReady(t, dir, pids[1])
	p.waitCode("/readyz", http.StatusOK)
	for _, sl := range p.status().Slots {
		if sl.StatusLine != "serving" {
			t.Errorf("slot %d STATUS %q, want the worker's STATUS=serving", sl.Slot, sl.StatusLine)
		}
	}

	syscall.Kill(pids[0], syscall.SIGKILL)
	p.waitCode("/readyz", http.StatusServiceUnavailable)
	var successor int
	eventually(t, 10*time.Second, "a successor", func() bool {
		for _, pid := range slotsOf(p.status()) {
			if pid != 0 && pid != pids[0] && pid != pids[1] {
				successor = pid
			}
		}
		return successor != 0
	})
	if code, _ := p.code("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d before the successor is ready, want 503", code)
	}
	makeReady(t, dir, successor)
	p.waitCode("/readyz", http.StatusOK)
}

// After SIGTERM, /readyz turns 503 at once while the workers keep serving
// for --drain-delay; then they stop and shardinit exits 0.
func TestDrainDelay(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	const drain = 2 * time.Second
	in, port := startPool(t, start{}, 2, append(p.flag(), "--drain-delay", drain.String()), "http")
	p.waitCode("/readyz", http.StatusOK)
	asked := time.Now()
	in.signal(syscall.SIGTERM)
	p.waitCode("/readyz", http.StatusServiceUnavailable)
	t.Logf("/readyz 503 %s after SIGTERM", time.Since(asked).Round(time.Millisecond))
	served := 0
	for time.Since(asked) < drain-200*time.Millisecond {
		if _, _, err := hello(port); err != nil {
			t.Fatalf("request %d while draining, %s after SIGTERM: %v", served, time.Since(asked), err)
		}
		served++
	}
	if code := in.wait(15 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if took := time.Since(asked); took < drain {
		t.Errorf("stopped %s after SIGTERM, before --drain-delay %s", took, drain)
	}
	t.Logf("%d requests served while draining", served)
}

// A SIGSTOPped worker's queue shows in /metrics and /status; after
// --stuck-timeout it is replaced and every queued connection is answered.
func TestStuckWorkerReplaced(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, port := startPool(t, start{}, 3, append(p.flag(), "--stuck-timeout", "2s"), "http")
	victim := slotPIDs(t, port, 3)[1]
	stopWorker(t, victim)
	answers := make([]struct{ slot, pid int }, 30)
	errs := make([]error, len(answers))
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() { answers[i].slot, answers[i].pid, errs[i] = hello(port) })
	}
	eventually(t, 10*time.Second, "slot 1's queue in /metrics and /status", func() bool {
		queued := sample(p.metrics()["shardinit_listener_queue_length"], "listener", "http", "shard", "1")
		return queued > 0 && p.status().Listeners[0].Shards[1].Queued > 0
	})
	wg.Wait()
	// Continued after its replacement, the stopped worker may answer a few
	// of them itself while it drains; the rest go to its successor.
	bySuccessor, byOld := 0, 0
	for i, a := range answers {
		switch {
		case errs[i] != nil:
			t.Errorf("connection %d: %v", i, errs[i])
		case a.slot == 1 && a.pid == victim:
			byOld++
		case a.slot == 1:
			bySuccessor++
		}
	}
	if bySuccessor+byOld == 0 {
		t.Errorf("none of %d connections reached slot 1's shard", len(answers))
	}
	// The old worker may answer before the snapshot with its successor is
	// published: wait for that, not for the answers.
	eventually(t, 5*time.Second, fmt.Sprintf("a successor for the stopped worker %d on slot 1", victim), func() bool {
		return slotsOf(p.status())[1] != victim
	})
	if stuck := sample(p.metrics()["shardinit_stuck_workers_total"]); stuck != 1 {
		t.Errorf("shardinit_stuck_workers_total = %v, want 1", stuck)
	}
	t.Logf("connections queued behind the stopped worker: %d answered by its successor, %d by itself as it drained",
		bySuccessor, byOld)
	slotPIDs(t, port, 3) // the successor serves (and handles SIGTERM) before the stop
	in.stopCleanly()
}

// stopWorker sends SIGSTOP and waits until every thread of pid has
// stopped: until then it may still accept a connection, which then waits
// with it.
func stopWorker(t *testing.T, pid int) {
	t.Helper()
	syscall.Kill(pid, syscall.SIGSTOP)
	eventually(t, 5*time.Second, fmt.Sprintf("every thread of %d to stop", pid), func() bool {
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, task := range tasks {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
			if s, _ := procstat.Parse(b); s.State() != "T" && s.State() != "t" {
				return false
			}
		}
		return len(tasks) > 0
	})
}

// With --on-stuck report the stuck worker stays, and /livez says so until
// it accepts again.
func TestStuckWorkerReported(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	// 3 s, not less: a worker slowed by a busy machine (race-built, on 2
	// cores) may keep one connection queued across two samples a second
	// apart, which looks stuck too (see spawn's backlog).
	in, port := startPool(t, start{}, 2, append(p.flag(), "--stuck-timeout", "3s", "--on-stuck", "report"), "http")
	victim := slotPIDs(t, port, 2)[0]
	stopWorker(t, victim)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() { _, _, errs[i] = hello(port) })
	}
	p.waitCode("/livez", http.StatusServiceUnavailable)
	if _, body := p.code("/livez"); !strings.Contains(body, "stuck worker in slot 0") {
		t.Errorf("/livez says %q, want it to name slot 0", body)
	}
	syscall.Kill(victim, syscall.SIGCONT)
	p.waitCode("/livez", http.StatusOK)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("connection %d: %v", i, err)
		}
	}
	if pid := slotPIDs(t, port, 2)[0]; pid != victim {
		t.Errorf("slot 0 worker %d replaced by %d, want it kept", victim, pid)
	}
	in.stopCleanly()
}

// A worker that stops sending WATCHDOG=1 is replaced; one that sends it is
// left alone.
func TestWatchdog(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, port := startPool(t, start{}, 1, append(p.flag(), "--ready-on", "notify", "--watchdog", "1s"), "watchdog")
	first := fetchInfo(t, port)
	eventually(t, 10*time.Second, "six watchdog pings (1.5s)", func() bool { return fetchInfo(t, port).Pings >= 6 })
	if now := fetchInfo(t, port); now.PID != first.PID {
		t.Fatalf("worker %d replaced by %d although it pinged", first.PID, now.PID)
	}
	p.waitCode("/readyz", http.StatusOK)
	syscall.Kill(first.PID, syscall.SIGUSR2) // stop pinging
	eventually(t, 10*time.Second, "the silent worker to be replaced", func() bool {
		i := fetchInfo(t, port)
		return i.PID != first.PID
	})
	if !strings.Contains(in.log.String(), "watchdog: no WATCHDOG=1 within 1s") {
		t.Errorf("log does not say the watchdog fired")
	}
	in.stopCleanly()
}

// /metrics parses with the Prometheus text parser and carries every
// documented name; `shardinit status` shows the slots.
func TestMetricsAndStatusCommand(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, _ := startPool(t, start{}, 3, p.flag(), "http")
	p.waitCode("/readyz", http.StatusOK)
	families := p.metrics()
	for _, name := range health.MetricNames {
		if _, ok := families[name]; !ok {
			t.Errorf("/metrics has no %s", name)
		}
	}
	for name, want := range map[string]float64{"shardinit_worker_starts_total": 3, "shardinit_ready": 1, "shardinit_slots": 3, "shardinit_min_ready": 3} {
		if got := sample(families[name]); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := sample(families["shardinit_workers"], "state", "ready"); got != 3 {
		t.Errorf("shardinit_workers{state=ready} = %v, want 3", got)
	}
	for slot := range 3 {
		if mem := sample(families["shardinit_worker_resident_memory_bytes"], "slot", fmt.Sprint(slot)); mem < 1<<20 {
			t.Errorf("slot %d's worker holds %v bytes resident, want at least 1 MiB (a Go process)", slot, mem)
		}
		if cpu := sample(families["shardinit_worker_cpu_seconds_total"], "slot", fmt.Sprint(slot)); cpu < 0 {
			t.Errorf("slot %d has no CPU seconds", slot)
		}
	}
	if n := len(families["shardinit_worker_restarts_total"].GetMetric()); n != len(spawn.RestartReasons) {
		t.Errorf("%d shardinit_worker_restarts_total series, want one per reason, from zero (%v)", n, spawn.RestartReasons)
	}
	if got := sample(families["shardinit_build_info"], "goarch", runtime.GOARCH); got != 1 {
		t.Errorf("shardinit_build_info{goarch=%q} = %v, want 1", runtime.GOARCH, got)
	}
	out := &syncBuffer{}
	st := startShardinit(t, start{stdout: out}, "status", "--health-addr", p.addr)
	if code := st.wait(10 * time.Second); code != 0 {
		t.Fatalf("shardinit status: exit %d: %s", code, st.log.String())
	}
	if n := strings.Count(out.String(), " ready "); n != 3 || !strings.Contains(out.String(), "LISTENER") {
		t.Errorf("shardinit status shows %d ready slots, want 3:\n%s", n, out.String())
	}
	in.stopCleanly()
}

// A worker written with the SDK (worker.Serve) reports READY=1 by itself,
// and stops cleanly.
func TestSDKWorkerReportsReady(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, _ := startPool(t, start{}, 2, append(p.flag(), "--ready-on", "notify"), "sdk")
	p.waitCode("/readyz", http.StatusOK)
	in.stopCleanly()
}

// shardinit probe exits 0 while /readyz (or /livez) answers 200, and 1 once
// nothing answers: a HEALTHCHECK for an image without curl.
func TestProbeCommand(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, _ := startPool(t, start{}, 1, p.flag(), "http")
	p.waitCode("/readyz", http.StatusOK)
	probe := func(args ...string) (int, string) {
		out := &syncBuffer{}
		pr := startShardinit(t, start{stdout: out}, append([]string{"probe", "--health-addr", p.addr}, args...)...)
		code := pr.wait(10 * time.Second)
		return code, out.String() + pr.log.String()
	}
	for _, which := range []string{"readyz", "livez"} {
		if code, out := probe(which); code != 0 || !strings.HasPrefix(out, "/"+which+": ") {
			t.Errorf("probe %s while ready: exit %d, %q; want 0", which, code, out)
		}
	}
	if code, out := probe("ready"); code != 2 || !strings.Contains(out, `want readyz or livez, not "ready"`) {
		t.Errorf("probe ready: exit %d, %q; want 2 and the choices", code, out)
	}
	in.stopCleanly()
	if code, out := probe("readyz"); code != 1 || !strings.Contains(out, "connection refused") {
		t.Errorf("probe readyz with shardinit gone: exit %d, %q; want 1", code, out)
	}
}
