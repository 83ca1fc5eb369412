package main

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The socket modes the steering section compares, in its tables' order.
var steerModes = []struct{ name, flag string }{
	{"shared socket", "shared"}, {"per-worker sockets", "per-worker"}, {"balanced sockets", "balanced"},
}

// 8. Steering by load: where per-worker sockets hurt (a worker that serves
// one request at a time, a worker that pauses), and what --sockets
// balanced costs where they do not.
func sectionSteering(ctx context.Context) error {
	note("steering", "gunicorn sync workers (gunicorn -w 1 under shardinit) whose handler sleeps 50 ms: a closed loop of as many "+
		"clients as workers (wrk -c N, as ab -c N), and a constant rate of 75%% of what they can answer (loadgen, 8 connections, a new "+
		"connection per request)")
	note("steering", "a slow worker: slot 0 is stopped (SIGSTOP) for 50 ms every 500 ms, as a long GC pause stops a process, under "+
		"loadgen at 1000 req/s with a new connection per request")
	note("steering", "shardinit CPU is its user+system time over the load's wall time; syscalls/s is shardinit_balance_syscalls_total "+
		"over the same time (balanced only)")
	for run := range cfg.runs {
		fmt.Printf(" run %d/%d\n", run+1, cfg.runs)
		for _, n := range []int{2, 4} {
			if err := steerGunicorn(ctx, run, n); err != nil {
				return err
			}
		}
		for _, kind := range []string{"Go", "node"} {
			if err := steerSlowWorker(ctx, run, kind); err != nil {
				return err
			}
		}
		if err := steerAsync(ctx, run); err != nil {
			return err
		}
	}
	return nil
}

// steerCases launches command under shardinit with n workers in each mode.
func steerCases(n int, env []string, extra []string, command ...string) []launch {
	var cases []launch
	for _, m := range steerModes {
		flags := append([]string{"--sockets", m.flag}, extra...)
		cases = append(cases, withEnv(shardinitLaunch(m.name, n, flags, command...), env...))
	}
	return cases
}

func steerGunicorn(ctx context.Context, run, n int) error {
	cases := steerCases(n, []string{"BENCH_SLEEP_MS=50"}, nil, "gunicorn", "-w", "1", "--chdir", cfg.pyDir, "app:app")
	closed := fmt.Sprintf("gunicorn sync, 50 ms handler, %d workers, closed loop of %d clients", n, n)
	rate := 0.75 * float64(n) / 0.05
	open := fmt.Sprintf("gunicorn sync, 50 ms handler, %d workers, %.0f req/s", n, rate)
	return startEach(ctx, "steering", run, cases, func(c launch, srv *server) error {
		u := startUsage(srv)
		r, err := runWrk(ctx, wrkOpts{port: srv.port, duration: cfg.duration, keepalive: false, conns: n})
		if err != nil {
			fmt.Printf("  %s: %v\n", c.name, err)
		} else {
			addWrk("steering", closed, c.name, r)
			u.add(closed, c.name)
		}
		openLoop(ctx, c, srv, open, rate, 8)
		return nil
	})
}

func steerSlowWorker(ctx context.Context, run int, kind string) error {
	command := cpuCmd(0)
	var extra []string
	if kind == "node" {
		command = []string{"node", cfg.nodeScript, "fd3"}
	} else {
		extra = []string{"--ready-on", "notify"}
	}
	group := fmt.Sprintf("%s hello, 2 workers, slot 0 paused 50 ms every 500 ms, 1000 req/s", kind)
	cases := steerCases(2, []string{"BENCH_ROUNDS=0"}, extra, command...)
	return startEach(ctx, "steering", run, cases, func(c launch, srv *server) error {
		warm(ctx, srv)
		st, ok := readStatus(srv.health)
		if !ok || len(st.Slots) == 0 || st.Slots[0].PID == 0 {
			return fmt.Errorf("%s: no slot 0 in /status", c.name)
		}
		stop := pauseEvery(st.Slots[0].PID, 50*time.Millisecond, 500*time.Millisecond, cfg.duration+5*time.Second)
		openLoop(ctx, c, srv, group, 1000, cfg.latConns)
		stop()
		return nil
	})
}

// steerAsync is the zero-cost and balance rows' load (sections 1 and 4)
// on Go workers with per-worker and balanced sockets.
func steerAsync(ctx context.Context, run int) error {
	n := cfg.workers
	for _, h := range []struct {
		name   string
		rounds int
	}{{"hello", 0}, {fmt.Sprintf("CPU-bound (%d × SHA-256)", cfg.goRounds), cfg.goRounds}} {
		cases := steerCases(n, nil, []string{"--ready-on", "notify"}, cpuCmd(h.rounds)...)[1:]
		err := startEach(ctx, "steering", run, cases, func(c launch, srv *server) error {
			warm(ctx, srv)
			for _, ka := range []bool{false, true} {
				group := fmt.Sprintf("Go %s, %d workers, keep-alive %s (sections 1 and 4)", h.name, n, onOff(ka))
				u := startUsage(srv)
				r, err := runWrk(ctx, wrkOpts{port: srv.port, duration: cfg.balDuration, keepalive: ka, pids: true})
				if err != nil {
					fmt.Printf("  %s: %v\n", c.name, err)
					continue
				}
				counts := slices.Collect(maps.Values(r.Pids))
				for len(counts) < n {
					counts = append(counts, 0)
				}
				lo, hi := slices.Min(counts), slices.Max(counts)
				res.Add("steering", group, c.name, "throughput", "req/s", "higher", math.Round(r.rps()))
				res.Add("steering", group, c.name, "max/min", "ratio", "lower", round2(hi/math.Max(lo, 1)))
				res.Add("steering", group, c.name, "failed", "requests", "lower", r.failed())
				fmt.Printf("  %-52s | %-20s %8.0f req/s  max/min %5.2f\n", group, c.name, r.rps(), hi/math.Max(lo, 1))
				u.add(group, c.name)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// openLoop runs loadgen on srv (a new connection per request) and adds
// its result, with shardinit's usage, to group.
func openLoop(ctx context.Context, c launch, srv *server, group string, rate float64, conns int) {
	u := startUsage(srv)
	lg, err := runLoadgenWith(ctx, srv.port, rate, conns, cfg.duration, false)
	if err != nil {
		fmt.Printf("  %s: %v\n", c.name, err)
		return
	}
	addLoadgen("steering", group, c.name, lg)
	u.add(group, c.name)
}

func addLoadgen(section, group, cas string, r lgResult) {
	res.Add(section, group, cas, "p50", "ms", "lower", round2(r.P50Ms))
	res.Add(section, group, cas, "p99", "ms", "lower", round2(r.P99Ms))
	res.Add(section, group, cas, "p99.9", "ms", "lower", round2(r.P999Ms))
	res.Add(section, group, cas, "failed", "requests", "lower", r.failed())
	fmt.Printf("  %-60s | %-20s p50 %6.2f  p99 %7.2f  p99.9 %7.2f ms  failed %.0f\n", group, cas, r.P50Ms, r.P99Ms, r.P999Ms, r.failed())
}

// pauseEvery stops pid for pause every period until stop is called (or
// for at most limit), and leaves it running.
func pauseEvery(pid int, pause, period, limit time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer syscall.Kill(pid, syscall.SIGCONT)
		end := time.Now().Add(limit)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for time.Now().Before(end) {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			syscall.Kill(pid, syscall.SIGSTOP)
			time.Sleep(pause) // the pause itself, not a wait for a state
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}()
	return func() { close(done); <-finished }
}

// usage is shardinit's CPU time (ns) and balancer syscalls at a start.
type usage struct {
	srv      *server
	at       time.Time
	cpu      float64
	syscalls float64
}

func startUsage(srv *server) usage {
	return usage{srv: srv, at: time.Now(), cpu: cpuNs(srv.procs[0].pid), syscalls: balanceSyscalls(srv.health)}
}

// add records shardinit's CPU share and syscall rate since the start.
func (u usage) add(group, cas string) {
	wall := time.Since(u.at).Seconds()
	res.Add("steering", group, cas, "shardinit CPU", "%", "lower", round2(100*(cpuNs(u.srv.procs[0].pid)-u.cpu)/1e9/wall))
	if strings.HasPrefix(cas, "balanced") {
		res.Add("steering", group, cas, "syscalls/s", "1/s", "lower", math.Round((balanceSyscalls(u.srv.health)-u.syscalls)/wall))
	}
}

// balanceSyscalls reads shardinit_balance_syscalls_total from /metrics.
func balanceSyscalls(health int) float64 {
	resp, err := probe.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", health))
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "shardinit_balance_syscalls_total "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return n
		}
	}
	return 0
}
