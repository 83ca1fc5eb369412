package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"syscall"
	"time"

	"github.com/shardinit/shardinit/pkg/health"
)

// readStatus asks shardinit's health server on port for /status.
func readStatus(port int) (health.Report, bool) {
	var st health.Report
	resp, err := probe.Get(fmt.Sprintf("http://127.0.0.1:%d/status", port))
	if err != nil {
		return st, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return st, false
	}
	return st, true
}

// wrkOut is what a wrk run in the background gives back.
type wrkOut struct {
	r   wrkResult
	err error
}

// scenario is one zero-loss claim: an event while the load runs.
type scenario struct {
	name  string
	flags []string
	// load is how long wrk runs, given when the event happens.
	load func(at time.Duration) time.Duration
	// event happens at `at` into the load; it returns how many requests
	// may fail by design (the in-flight requests of a killed worker) and
	// how long until the service was whole again (-1: it was not).
	event func(ctx context.Context, srv *server, until time.Time) (inflight int, recovered float64, err error)
	// worker, when set, names the Go worker's other way to serve
	// (bench/workers/cpu -go-systemd).
	worker string
}

// 6. Zero loss under load: failed requests during a rolling restart, a
// SIGKILLed worker, a SIGSTOPped worker and a graceful stop with drain.
func sectionZeroLoss(ctx context.Context) error {
	n := cfg.workers
	at := 2 * time.Second
	if cfg.smoke {
		at = time.Second
	}
	full := func(time.Duration) time.Duration { return max(cfg.duration, at+6*time.Second) }
	scenarios := []scenario{
		{name: "rolling restart (SIGHUP)", load: full, event: rollAll},
		// Stopped first, the worker accepts nothing more while its open
		// connections are counted; then killed, or left stopped for
		// shardinit to find stuck.
		{name: "SIGKILL of a worker", load: full, event: stopSlot0(true)},
		{name: "SIGSTOP of a worker (--stuck-timeout 2s)", flags: []string{"--stuck-timeout", "2s", "--stop-timeout", "2s"}, load: full,
			event: stopSlot0(false)},
		{name: "SIGTERM, --drain-delay 3s (load stops 2s in)", flags: []string{"--drain-delay", "3s"},
			load: func(at time.Duration) time.Duration { return at + 2*time.Second },
			event: func(ctx context.Context, srv *server, until time.Time) (int, float64, error) {
				p := srv.procs[0]
				t0 := time.Now()
				syscall.Kill(p.pid, syscall.SIGTERM)
				code := 0
				if !waitUntil(ctx, 500*time.Millisecond, 10*time.Millisecond, func() bool {
					code = httpStatus(fmt.Sprintf("http://127.0.0.1:%d/readyz", srv.health))
					return code == http.StatusServiceUnavailable
				}) {
					note("zero-loss", "drain: /readyz answered %d (not 503) half a second into the drain", code)
				}
				// Recovered: shardinit has stopped, exit 0, after the drain.
				select {
				case <-p.done:
				case <-time.After(time.Until(until) + 20*time.Second):
					return 0, -1, nil
				case <-ctx.Done():
					return 0, -1, ctx.Err()
				}
				if c := p.exitCode(); c != 0 {
					note("zero-loss", "drain: shardinit exited %d", c)
				}
				return 0, time.Since(t0).Seconds(), nil
			}},
	}
	// The roll again, with workers that stop with http.Server.Shutdown
	// alone (go-systemd): they close unanswered what they accept after
	// their stop began, so only a roll that stops a worker once no new
	// connection reaches it fails none.
	plain := scenario{name: scenarios[0].name, load: full, event: scenarios[0].event, worker: "go-systemd + Shutdown"}
	scenarios = append(scenarios, plain)
	for run := range cfg.runs {
		fmt.Printf(" run %d/%d\n", run+1, cfg.runs)
		for _, sc := range rotate(scenarios, run) {
			for _, ka := range []bool{true, false} {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				flags := append([]string{"--ready-on", "notify"}, sc.flags...)
				cmd, worker := cpuCmd(cfg.goRounds), "Go CPU-bound"
				if sc.worker != "" {
					cmd, worker = cpuCmd(cfg.goRounds, "-go-systemd"), "Go CPU-bound, "+sc.worker
				}
				srv, err := shardinitLaunch(sc.name, n, flags, cmd...).start(ctx, freePort())
				if err != nil {
					fmt.Printf("  %s: %v\n", sc.name, err)
					continue
				}
				warm(ctx, srv)
				d := sc.load(at)
				done := make(chan wrkOut, 1)
				start := time.Now()
				go func() {
					r, err := runWrk(ctx, wrkOpts{port: srv.port, duration: d, keepalive: ka})
					done <- wrkOut{r, err}
				}()
				sleepCtx(ctx, at)
				inflight, rec, evErr := sc.event(ctx, srv, start.Add(d))
				out := <-done
				srv.stop()
				if evErr != nil || out.err != nil {
					fmt.Printf("  %s: event: %v, wrk: %v\n", sc.name, evErr, out.err)
					continue
				}
				r := out.r
				g := fmt.Sprintf("shardinit ×%d, %s, keep-alive %s", n, worker, onOff(ka))
				res.Add("zero-loss", g, sc.name, "failed", "requests", "lower", r.failed())
				res.Add("zero-loss", g, sc.name, "socket errors", "requests", "lower", r.Connect+r.Read+r.Write+r.Timeout)
				res.Add("zero-loss", g, sc.name, "non-2xx", "requests", "lower", r.Status)
				res.Add("zero-loss", g, sc.name, "in flight on the victim", "connections", "", float64(inflight))
				res.Add("zero-loss", g, sc.name, "requests", "requests", "", r.Requests)
				res.Add("zero-loss", g, sc.name, "slowest", "ms", "lower", round2(r.MaxUS/1000))
				res.Add("zero-loss", g, sc.name, "done after", "s", "lower", round2(rec))
				fmt.Printf("  %-40s | %-46s failed %.0f (connect %.0f read %.0f write %.0f timeout %.0f non-2xx %.0f) of %.0f; in flight on victim %d; done after %.2fs; slowest %.0f ms\n",
					g, sc.name, r.failed(), r.Connect, r.Read, r.Write, r.Timeout, r.Status, r.Requests, inflight, rec, r.MaxUS/1000)
			}
		}
	}
	return slowImportRolls(ctx, at)
}

// rollAll sends SIGHUP and waits until every slot has a new ready worker.
// In flight, for a roll, are the most connections each replaced worker was
// seen to hold while the roll ran (sampled with each look at /status): with
// keep-alive, those a server that closes idle connections when it stops
// (http.Server.Shutdown) races its clients on. A client reconnects after
// such a close and may land on a worker not yet replaced, so a connection
// can be raced on more than once.
func rollAll(ctx context.Context, srv *server, until time.Time) (int, float64, error) {
	st, _ := readStatus(srv.health)
	held := map[int]int{}
	var before []int
	sample := func() {
		for _, pid := range before {
			held[pid] = max(held[pid], established(pid, srv.port))
		}
	}
	for _, s := range st.Slots {
		before = append(before, s.PID)
	}
	sample()
	t0 := time.Now()
	syscall.Kill(srv.procs[0].pid, syscall.SIGHUP)
	// Until every slot has a worker not in before: a roll that has not
	// begun yet does not pass for one that is over.
	ok := waitUntil(ctx, time.Until(until), 20*time.Millisecond, func() bool {
		sample()
		st, ok := readStatus(srv.health)
		if !ok || st.Rolling || len(st.Slots) != len(before) {
			return false
		}
		for _, s := range st.Slots {
			if s.PID == 0 || slices.Contains(before, s.PID) || s.State != "ready" {
				return false
			}
		}
		return true
	})
	n := 0
	for _, h := range held {
		n += h
	}
	if !ok {
		return n, -1, nil
	}
	return n, time.Since(t0).Seconds(), nil
}

// stopSlot0 stops slot 0's worker, counts the connections it holds (in
// flight), kills it if asked, and waits for its successor.
func stopSlot0(kill bool) func(ctx context.Context, srv *server, until time.Time) (int, float64, error) {
	return func(ctx context.Context, srv *server, until time.Time) (int, float64, error) {
		victim := slot0(srv)
		if victim == 0 {
			return 0, -1, fmt.Errorf("no worker in slot 0")
		}
		t0 := time.Now()
		syscall.Kill(victim, syscall.SIGSTOP)
		inflight := established(victim, srv.port)
		if kill {
			syscall.Kill(victim, syscall.SIGKILL)
		}
		return inflight, replaced(ctx, srv, victim, t0, until), nil
	}
}

// slot0 is the PID of slot 0's worker, 0 if none.
func slot0(srv *server) int {
	st, ok := readStatus(srv.health)
	if !ok || len(st.Slots) == 0 {
		return 0
	}
	return st.Slots[0].PID
}

// replaced polls until slot 0 has a ready worker other than victim, and
// says how long after t0 that was (-1: not by until).
func replaced(ctx context.Context, srv *server, victim int, t0, until time.Time) float64 {
	ok := waitUntil(ctx, time.Until(until), 10*time.Millisecond, func() bool {
		st, ok := readStatus(srv.health)
		return ok && len(st.Slots) > 0 && st.Slots[0].PID != victim && st.Slots[0].PID != 0 && st.Slots[0].State == "ready"
	})
	if !ok {
		return -1
	}
	return time.Since(t0).Seconds()
}
