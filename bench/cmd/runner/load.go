package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/shardinit/shardinit/bench/internal/results"
)

// wrkScript makes wrk print its summary as one JSON line (with p99.9, which
// --latency does not print) and, with BENCH_PIDS=1, count the answers of
// each worker by the "(pid N)" in the body.
const wrkScript = `
local threads = {}
function setup(thread) table.insert(threads, thread) end
if os.getenv("BENCH_PIDS") == "1" then
  pids = {}
  function response(status, headers, body)
    local pid = body and string.match(body, "%(pid (%d+)%)")
    if pid then pids[pid] = (pids[pid] or 0) + 1 end
  end
end
function done(summary, latency, requests)
  local e = summary.errors
  local out = string.format('{"requests":%d,"duration_us":%d,"mean_us":%.1f,"max_us":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"pids":{',
    summary.requests, summary.duration, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    e.connect, e.read, e.write, e.status, e.timeout)
  local merged = {}
  for _, t in ipairs(threads) do
    local p = t:get("pids")
    if p then
      for pid, n in pairs(p) do merged[pid] = (merged[pid] or 0) + n end
    end
  end
  local first = true
  for pid, n in pairs(merged) do
    out = out .. (first and "" or ",") .. string.format('"%s":%d', pid, n)
    first = false
  end
  io.write("BENCHJSON " .. out .. "}}\n")
end
`

// wrkResult is one wrk run.
type wrkResult struct {
	Requests   float64            `json:"requests"`
	DurationUS float64            `json:"duration_us"`
	MeanUS     float64            `json:"mean_us"`
	MaxUS      float64            `json:"max_us"`
	P50US      float64            `json:"p50_us"`
	P90US      float64            `json:"p90_us"`
	P99US      float64            `json:"p99_us"`
	P999US     float64            `json:"p999_us"`
	Connect    float64            `json:"connect"`
	Read       float64            `json:"read"`
	Write      float64            `json:"write"`
	Status     float64            `json:"status"`
	Timeout    float64            `json:"timeout"`
	Pids       map[string]float64 `json:"pids"`
}

func (r wrkResult) rps() float64 { return r.Requests / (r.DurationUS / 1e6) }

// failed counts every request that did not get a 2xx/3xx answer: wrk's
// "Socket errors" (connect, read, write, timeout) and "Non-2xx or 3xx".
func (r wrkResult) failed() float64 { return r.Connect + r.Read + r.Write + r.Status + r.Timeout }

type wrkOpts struct {
	port      int
	duration  time.Duration
	keepalive bool
	pids      bool
	conns     int
	// timeout is wrk's --timeout: long, so that a stall shows as latency
	// (wrk drops a sample past it and counts a timeout per connection
	// every 2 s instead).
	timeout time.Duration
}

func runWrk(ctx context.Context, o wrkOpts) (wrkResult, error) {
	script := filepath.Join(cfg.tmp, "report.lua")
	if _, err := os.Stat(script); err != nil {
		if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
			return wrkResult{}, err
		}
	}
	if o.conns == 0 {
		o.conns = cfg.conns
	}
	if o.timeout == 0 {
		o.timeout = 30 * time.Second
	}
	secs := max(int(o.duration.Round(time.Second)/time.Second), 1)
	args := []string{"-t", strconv.Itoa(min(cfg.threads, o.conns)), "-c", strconv.Itoa(o.conns),
		"-d", fmt.Sprintf("%ds", secs), "--timeout", fmt.Sprintf("%ds", int(o.timeout/time.Second)), "-s", script}
	if !o.keepalive {
		args = append(args, "-H", "Connection: close")
	}
	args = append(args, fmt.Sprintf("http://127.0.0.1:%d/", o.port))
	// Bounded: wrk stops itself after -d; this is the backstop.
	cctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+o.timeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, "wrk", args...)
	if o.pids {
		cmd.Env = append(os.Environ(), "BENCH_PIDS=1")
	} else {
		cmd.Env = append(os.Environ(), "BENCH_PIDS=0")
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v: %s", err, lastLines(string(out), 5))
	}
	for _, line := range strings.Split(string(out), "\n") {
		if js, ok := strings.CutPrefix(line, "BENCHJSON "); ok {
			var r wrkResult
			if err := json.Unmarshal([]byte(js), &r); err != nil {
				return wrkResult{}, fmt.Errorf("wrk summary %q: %w", js, err)
			}
			if r.DurationUS <= 0 {
				return wrkResult{}, fmt.Errorf("wrk ran no time: %s", lastLines(string(out), 5))
			}
			return r, nil
		}
	}
	return wrkResult{}, fmt.Errorf("wrk printed no summary: %s", lastLines(string(out), 5))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// lgResult is one run of bench/cmd/loadgen (constant rate).
type lgResult struct{ results.Loadgen }

func (r lgResult) failed() float64 {
	n := 0
	for _, v := range r.Errors {
		n += v
	}
	return float64(n)
}

func runLoadgen(ctx context.Context, port int, rate float64, d time.Duration, keepalive bool) (lgResult, error) {
	return runLoadgenWith(ctx, port, rate, cfg.latConns, d, keepalive)
}

// runLoadgenWith is runLoadgen over conns connections.
func runLoadgenWith(ctx context.Context, port int, rate float64, conns int, d time.Duration, keepalive bool) (lgResult, error) {
	cctx, cancel := context.WithTimeout(ctx, d+60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, cfg.loadgen, "-addr", fmt.Sprintf("127.0.0.1:%d", port),
		"-rate", fmt.Sprintf("%.0f", rate), "-conns", strconv.Itoa(conns), "-duration", d.String(),
		"-keepalive="+strconv.FormatBool(keepalive))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return lgResult{}, fmt.Errorf("loadgen: %v: %s", err, lastLines(stderr.String(), 5))
	}
	var r lgResult
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &r); err == nil {
			return r, nil
		}
	}
	return lgResult{}, fmt.Errorf("loadgen printed no result: %s", lastLines(string(out), 3))
}
