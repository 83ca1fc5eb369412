package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"
)

// sleepCtx sleeps d unless ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// 5. The cost of PID 1: the supervisor process's own memory and CPU, idle
// and under load, beside tini and dumb-init; and start-to-ready.
func sectionPID1(ctx context.Context) error {
	const workers = 4
	cases := []launch{
		shardinitLaunch(fmt.Sprintf("shardinit, %d workers, health server on", workers), workers, []string{"--ready-on", "notify"}, cpuCmd(0)...),
		goOne("tini -s, one process", 0, "tini", "-s", "--"),
		goOne("dumb-init, one process", 0, "dumb-init"),
	}
	g := "the supervisor process alone (Go hello workers)"
	err := eachStarted(ctx, "pid1", cases, func(c launch, srv *server) error {
		pid := srv.procs[0].pid
		if srv.health > 0 {
			// One scrape and one status, as Prometheus and a kubelet would.
			httpStatus(fmt.Sprintf("http://127.0.0.1:%d/metrics", srv.health))
			httpStatus(fmt.Sprintf("http://127.0.0.1:%d/status", srv.health))
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return err
		}
		c0, s0, t0 := cpuNs(pid), switches(pid), time.Now()
		if err := sleepCtx(ctx, cfg.duration); err != nil {
			return err
		}
		el := time.Since(t0)
		idleCPU := (cpuNs(pid) - c0) / float64(el.Nanoseconds()) * 100
		wake := (switches(pid) - s0) / el.Seconds()
		idleRSS, idlePrivate := rssKiB(pid)/1024, privateKiB(pid)/1024
		if srv.health > 0 {
			// A day of Prometheus at a scrape a minute, in a row: what the
			// scrape path keeps resident.
			for range 1000 {
				httpStatus(fmt.Sprintf("http://127.0.0.1:%d/metrics", srv.health))
			}
			res.Add("pid1", g, c.name, "RSS after 1,000 scrapes", "MiB", "lower", round2(rssKiB(pid)/1024))
			res.Add("pid1", g, c.name, "private after 1,000 scrapes", "MiB", "lower", round2(privateKiB(pid)/1024))
			// Idle again: shardinit gives back what the scrapes left after a
			// second without one.
			if err := sleepCtx(ctx, 2*time.Second); err != nil {
				return err
			}
			res.Add("pid1", g, c.name, "RSS 2 s after 1,000 scrapes", "MiB", "lower", round2(rssKiB(pid)/1024))
			res.Add("pid1", g, c.name, "private 2 s after 1,000 scrapes", "MiB", "lower", round2(privateKiB(pid)/1024))
		}
		c0, t0 = cpuNs(pid), time.Now()
		r, err := runWrk(ctx, wrkOpts{port: srv.port, duration: cfg.duration, keepalive: true})
		el = time.Since(t0)
		loadCPU := (cpuNs(pid) - c0) / float64(el.Nanoseconds()) * 100
		loadRSS := rssKiB(pid) / 1024
		if err != nil {
			fmt.Printf("  %s: %v\n", c.name, err)
			return nil
		}
		res.Add("pid1", g, c.name, "idle RSS", "MiB", "lower", round2(idleRSS))
		res.Add("pid1", g, c.name, "idle private", "MiB", "lower", round2(idlePrivate))
		res.Add("pid1", g, c.name, "idle CPU", "% of a core", "lower", math.Round(idleCPU*10000)/10000)
		res.Add("pid1", g, c.name, "idle wakeups", "per s", "lower", round2(wake))
		res.Add("pid1", g, c.name, "RSS under load", "MiB", "lower", round2(loadRSS))
		res.Add("pid1", g, c.name, "CPU under load", "% of a core", "lower", round2(loadCPU))
		res.Add("pid1", g, c.name, "load served", "req/s", "higher", math.Round(r.rps()))
		fmt.Printf("  %-40s idle: RSS %5.1f MiB CPU %.4f%% wakeups %.1f/s | load: RSS %5.1f MiB CPU %.2f%% (%.0f req/s)\n",
			c.name, idleRSS, idleCPU, wake, loadRSS, loadCPU, r.rps())
		return nil
	})
	if err != nil {
		return err
	}
	return startToReady(ctx)
}

// startToReady times shardinit from its exec until /readyz answers 200,
// against the same workers launched by hand (until every READY=1 and the
// first answer after it).
func startToReady(ctx context.Context) error {
	g := "start-to-ready (Go hello workers)"
	byHand := "the workers by hand (their own start)"
	for run := range cfg.runs {
		fmt.Printf(" start-to-ready run %d/%d\n", run+1, cfg.runs)
		for _, n := range cfg.startN {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var notifyMs float64
			for _, readyOn := range []string{"notify", "start"} {
				port := freePort()
				argv := []string{cfg.shardinit, "--workers", strconv.Itoa(n), "--listen", fmt.Sprintf("http=127.0.0.1:%d", port),
					"--health-addr", fmt.Sprintf("127.0.0.1:%d", port+1), "--ready-on", readyOn, "--log-level", "warn",
					"--", cfg.cpu, "-rounds", "0"}
				t0 := time.Now()
				p, err := startProc("shardinit", argv)
				if err != nil {
					return err
				}
				ok := waitUntil(ctx, 60*time.Second, 2*time.Millisecond, func() bool {
					return p.exited() || httpStatus(fmt.Sprintf("http://127.0.0.1:%d/readyz", port+1)) == 200
				}) && !p.exited()
				ms := float64(time.Since(t0).Microseconds()) / 1000
				(&server{procs: []*proc{p}}).stop()
				if !ok {
					fmt.Printf("  shardinit N=%d: not ready: %s\n", n, lastLines(p.out.String(), 4))
					continue
				}
				res.Add("pid1", g, "shardinit --ready-on "+readyOn, fmt.Sprintf("N=%d", n), "ms", "lower", round2(ms))
				if readyOn == "notify" {
					notifyMs = ms
				}
			}
			// By hand: the same binary, each binding with SO_REUSEPORT. The
			// time ends at the first HTTP answer after every READY=1 (ready),
			// as shardinit's ends at its first 200 from /readyz.
			port := freePort()
			t0 := time.Now()
			srv, err := goReuseport(byHand, 0, n).start(ctx, port)
			ms := float64(time.Since(t0).Microseconds()) / 1000
			if err != nil {
				fmt.Printf("  by hand N=%d: %v\n", n, err)
				continue
			}
			srv.stop()
			res.Add("pid1", g, byHand, fmt.Sprintf("N=%d", n), "ms", "lower", round2(ms))
			if notifyMs > 0 {
				res.Add("pid1", g, "shardinit's own share (notify − by hand)", fmt.Sprintf("N=%d", n), "ms", "lower", round2(notifyMs-ms))
			}
			fmt.Printf("  N=%-4d shardinit (notify) %8.1f ms   by hand %8.1f ms\n", n, notifyMs, ms)
		}
	}
	return nil
}
