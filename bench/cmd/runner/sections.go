package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func addWrk(section, group, cas string, r wrkResult) {
	res.Add(section, group, cas, "throughput", "req/s", "higher", math.Round(r.rps()))
	res.Add(section, group, cas, "p50", "ms", "lower", round2(r.P50US/1000))
	res.Add(section, group, cas, "p99", "ms", "lower", round2(r.P99US/1000))
	res.Add(section, group, cas, "p99.9", "ms", "lower", round2(r.P999US/1000))
	res.Add(section, group, cas, "failed", "requests", "lower", r.failed())
	fmt.Printf("  %-42s | %-52s %8.0f req/s  p50 %6.2f  p99 %6.2f  p99.9 %7.2f ms  failed %.0f\n",
		group, cas, r.rps(), r.P50US/1000, r.P99US/1000, r.P999US/1000, r.failed())
}

// eachStarted starts every case once per run, the cases in a rotating
// order (startEach), hands each running server to measure, and stops it
// after.
func eachStarted(ctx context.Context, section string, cases []launch, measure func(c launch, srv *server) error) error {
	for run := range cfg.runs {
		fmt.Printf(" run %d/%d\n", run+1, cfg.runs)
		if err := startEach(ctx, section, run, cases, measure); err != nil {
			return err
		}
	}
	return nil
}

// startEach starts every case once, in the order run takes them (rotate),
// hands each running server to measure, and stops it after. A case that
// does not start is noted as skipped and the others go on.
func startEach(ctx context.Context, section string, run int, cases []launch, measure func(c launch, srv *server) error) error {
	for _, c := range rotate(cases, run) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		srv, err := c.start(ctx, freePort())
		if err != nil {
			fmt.Printf("  %s: %v\n", c.name, err)
			skip(section, fmt.Sprintf("%s (run %d)", c.name, run+1), err.Error())
			continue
		}
		err = measure(c, srv)
		srv.stop()
		if err != nil {
			return err
		}
	}
	return nil
}

// measureCases measures every case under the closed-loop load, with
// keep-alive on and/or off; group names the table for a keep-alive mode.
func measureCases(ctx context.Context, section string, cases []launch, kas []bool, group func(ka bool) string) error {
	return eachStarted(ctx, section, cases, func(c launch, srv *server) error {
		warm(ctx, srv)
		for _, ka := range kas {
			r, err := runWrk(ctx, wrkOpts{port: srv.port, duration: cfg.duration, keepalive: ka})
			if err != nil {
				fmt.Printf("  %s: %v\n", c.name, err)
				continue
			}
			addWrk(section, group(ka), c.name, r)
		}
		return nil
	})
}

// 1. Zero cost: the Go worker under shardinit against the same binary
// launched by hand, alone, and under tini and dumb-init.
func sectionZeroCost(ctx context.Context) error {
	n := cfg.workers
	for _, h := range []struct {
		name   string
		rounds int
	}{{"hello", 0}, {"cpu", cfg.goRounds}} {
		label := "Go hello"
		if h.rounds > 0 {
			label = fmt.Sprintf("Go CPU-bound (%d × SHA-256)", h.rounds)
		}
		err := measureCases(ctx, "zero-cost", goCases(h.rounds, n, h.rounds == 0), []bool{true, false}, func(ka bool) string {
			return fmt.Sprintf("%s, keep-alive %s", label, onOff(ka))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// 2. Multi-core win: single-threaded runtimes, one process against N.
func sectionMultiCore(ctx context.Context) error {
	n := cfg.workers
	nodeEnv := fmt.Sprintf("BENCH_ROUNDS=%d", cfg.nodeRounds)
	node := []launch{
		markerLaunch("node, one process", []string{"node", cfg.nodeScript, "plain", "{port}"}),
		markerLaunch(fmt.Sprintf("node cluster module ×%d", n), []string{"node", cfg.nodeScript, "cluster", "{port}", fmt.Sprint(n)}),
		shardinitLaunch(fmt.Sprintf("shardinit ×%d node (fd 3)", n), n, nil, "node", cfg.nodeScript, "fd3"),
	}
	if cfg.preload {
		node = append(node, preloadNode(n))
	} else {
		skip("multi-core", fmt.Sprintf("shardinit --preload ×%d node (binds the port itself)", n), cfg.preloadWhy)
	}
	for i := range node {
		node[i] = withEnv(node[i], nodeEnv)
	}
	if err := measureCases(ctx, "multi-core", node, []bool{true, false}, func(ka bool) string {
		return fmt.Sprintf("node CPU-bound (%d × SHA-256), keep-alive %s", cfg.nodeRounds, onOff(ka))
	}); err != nil {
		return err
	}
	pyEnv := fmt.Sprintf("BENCH_ROUNDS=%d", cfg.pyRounds)
	python := []launch{
		plainLaunch("gunicorn -w 1 (one process)", []string{"gunicorn", "-w", "1", "-b", "127.0.0.1:{port}", "--chdir", cfg.pyDir, "app:app"}),
		plainLaunch(fmt.Sprintf("gunicorn -w %d (its own prefork)", n), []string{"gunicorn", "-w", fmt.Sprint(n), "-b", "127.0.0.1:{port}", "--chdir", cfg.pyDir, "app:app"}),
		shardinitLaunch(fmt.Sprintf("shardinit ×%d gunicorn -w 1 (LISTEN_FDS)", n), n, nil,
			"gunicorn", "-w", "1", "--chdir", cfg.pyDir, "app:app"),
	}
	for i := range python {
		python[i] = withEnv(python[i], pyEnv)
	}
	note("multi-core", "gunicorn's sync workers close every connection after its answer, so python runs once, keep-alive offered (wrk reconnects)")
	return measureCases(ctx, "multi-core", python, []bool{true}, func(bool) string {
		return fmt.Sprintf("python CPU-bound (%d × SHA-256), gunicorn sync", cfg.pyRounds)
	})
}

// preloadNode: node binds the port itself; --preload hands it its shard.
func preloadNode(n int) launch {
	return shardinitLaunch(fmt.Sprintf("shardinit --preload ×%d node (binds the port itself)", n), n,
		[]string{"--preload"}, "node", cfg.nodeScript, "plain", "{port}")
}

// 3. Latency at a constant rate (open loop), beside the closed loop of
// the zero-cost section.
func sectionLatency(ctx context.Context) error {
	n := cfg.workers
	rounds := cfg.goRounds
	// The rate: a fraction of what one process serves in a closed loop,
	// the same for every configuration.
	rate := map[bool]float64{}
	srv, err := goOne("one process", rounds).start(ctx, freePort())
	if err != nil {
		return err
	}
	warm(ctx, srv)
	for _, ka := range []bool{true, false} {
		r, err := runWrk(ctx, wrkOpts{port: srv.port, duration: max(2*time.Second, cfg.duration/2), keepalive: ka})
		if err != nil {
			srv.stop()
			return err
		}
		rate[ka] = math.Max(10, math.Floor(cfg.latLoad*r.rps()/10)*10)
		note("latency", "constant rate with keep-alive %s: %.0f req/s (%.0f%% of the %.0f req/s one process served in a closed loop), %d connections",
			onOff(ka), rate[ka], cfg.latLoad*100, r.rps(), cfg.latConns)
	}
	srv.stop()
	cases := append([]launch{goOne("one process", rounds)}, manyCases(rounds, n)...)
	return eachStarted(ctx, "latency", cases, func(c launch, srv *server) error {
		warm(ctx, srv)
		for _, ka := range []bool{true, false} {
			r, err := runLoadgen(ctx, srv.port, rate[ka], cfg.duration, ka)
			if err != nil {
				fmt.Printf("  %s: %v\n", c.name, err)
				continue
			}
			g := fmt.Sprintf("Go CPU-bound (%d × SHA-256), constant %.0f req/s, keep-alive %s", rounds, rate[ka], onOff(ka))
			res.Add("latency", g, c.name, "p50", "ms", "lower", round2(r.P50Ms))
			res.Add("latency", g, c.name, "p90", "ms", "lower", round2(r.P90Ms))
			res.Add("latency", g, c.name, "p99", "ms", "lower", round2(r.P99Ms))
			res.Add("latency", g, c.name, "p99.9", "ms", "lower", round2(r.P999Ms))
			res.Add("latency", g, c.name, "max", "ms", "lower", round2(r.MaxMs))
			res.Add("latency", g, c.name, "served", "req/s", "higher", math.Round(r.Achieved))
			res.Add("latency", g, c.name, "failed", "requests", "lower", r.failed()+float64(r.Unstarted))
			fmt.Printf("  %-70s | %-40s p50 %6.2f  p99 %6.2f  p99.9 %7.2f  max %7.2f ms  served %.0f/%.0f req/s  failed %.0f\n",
				g, c.name, r.P50Ms, r.P99Ms, r.P999Ms, r.MaxMs, r.Achieved, r.Rate, r.failed())
		}
		return nil
	})
}

// 4. Balance: requests per worker, counted by the PID in each answer.
func sectionBalance(ctx context.Context) error {
	handlers := []struct {
		name   string
		rounds int
	}{{"hello", 0}, {fmt.Sprintf("CPU-bound (%d × SHA-256)", cfg.goRounds), cfg.goRounds}}
	for run := range cfg.runs {
		fmt.Printf(" run %d/%d\n", run+1, cfg.runs)
		for _, n := range cfg.balN {
			for _, h := range handlers {
				// Keep-alive connections hashed once stay where they landed;
				// the worker SDK ends them at an age (SHARDINIT_MAX_CONN_AGE),
				// and their clients' new connections are hashed afresh.
				aged := withEnv(shardinitLaunch("per-worker sockets, SHARDINIT_MAX_CONN_AGE=1s", n, []string{"--ready-on", "notify"},
					cpuCmd(h.rounds)...), "SHARDINIT_MAX_CONN_AGE=1s")
				err := startEach(ctx, "balance", run, append(socketCases("", h.rounds, n), aged), func(c launch, srv *server) error {
					warm(ctx, srv)
					for _, ka := range []bool{false, true} {
						measureBalance(ctx, fmt.Sprintf("Go %s, %d workers, keep-alive %s", h.name, n, onOff(ka)), c, srv, n, ka)
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// measureBalance runs the load once on srv's n workers and adds how evenly
// they shared it to group.
func measureBalance(ctx context.Context, group string, c launch, srv *server, n int, keepalive bool) {
	r, err := runWrk(ctx, wrkOpts{port: srv.port, duration: cfg.balDuration, keepalive: keepalive, pids: true})
	if err != nil {
		fmt.Printf("  %s: %v\n", c.name, err)
		return
	}
	var counts []float64
	for _, v := range r.Pids {
		counts = append(counts, v)
	}
	for len(counts) < n {
		counts = append(counts, 0) // a worker that got nothing
	}
	slices.Sort(counts)
	lo, hi := counts[0], counts[len(counts)-1]
	ratio := hi / math.Max(lo, 1)
	res.Add("balance", group, c.name, "max/min", "ratio", "lower", round2(ratio))
	res.Add("balance", group, c.name, "busiest share", "% of requests", "lower", round2(100*hi/math.Max(1, r.Requests)))
	res.Add("balance", group, c.name, "throughput", "req/s", "higher", math.Round(r.rps()))
	fmt.Printf("  %-52s | %-20s max/min %5.2f  per worker %v  %.0f req/s\n", group, c.name, ratio, counts, r.rps())
}
