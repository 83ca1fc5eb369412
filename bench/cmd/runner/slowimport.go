package main

import (
	"context"
	"fmt"
	"time"
)

// slowImport is how long the app of the slow-import rolls takes to import:
// gunicorn says READY=1 from its master before its worker has imported it.
const slowImport = 2 * time.Second

// slowImportRolls rolls 2 gunicorn sync workers whose app imports for 2 s,
// once per --ready-on mode, under a light load of new connections (wrk, 8
// connections, keep-alive off). A successor that takes over before its app
// is imported leaves its shard without an accepting process: the requests
// that land there wait, and the slowest request shows it.
func slowImportRolls(ctx context.Context, at time.Duration) error {
	n := cfg.workers
	g := fmt.Sprintf("shardinit ×%d, gunicorn sync, a %v import, keep-alive off", n, slowImport)
	// "" is the same load with no roll: the slowest request of a quiet run.
	modes := []string{"accept", "notify", "start", ""}
	// Each slot takes the import, gunicorn's own start and stop, and the
	// 200 ms its predecessor's queue must stay empty: about 3 s here.
	d := max(cfg.duration, at+time.Duration(n)*(slowImport+3*time.Second)+4*time.Second)
	for run := range cfg.runs {
		for _, mode := range rotate(modes, run) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			name, flags := "rolling restart, --ready-on "+mode, []string{"--ready-on", mode}
			if mode == "" {
				name, flags = "no roll (the same load)", nil
			}
			l := shardinitLaunch(name, n, flags, "gunicorn", "-w", "1", "--chdir", cfg.pyDir, "app:app")
			l.env = []string{fmt.Sprintf("BENCH_IMPORT_SECONDS=%g", slowImport.Seconds()), "BENCH_ROUNDS=300"}
			srv, err := l.start(ctx, freePort())
			if err != nil {
				fmt.Printf("  %s: %v\n", name, err)
				continue
			}
			warm(ctx, srv)
			done := make(chan wrkOut, 1)
			start := time.Now()
			go func() {
				r, err := runWrk(ctx, wrkOpts{port: srv.port, duration: d, conns: 8})
				done <- wrkOut{r, err}
			}()
			sleepCtx(ctx, at)
			rec, evErr := 0.0, error(nil)
			if mode != "" {
				_, rec, evErr = rollAll(ctx, srv, start.Add(d))
			}
			out := <-done
			srv.stop()
			if evErr != nil || out.err != nil {
				fmt.Printf("  %s: event: %v, wrk: %v\n", name, evErr, out.err)
				continue
			}
			r := out.r
			res.Add("zero-loss", g, name, "failed", "requests", "lower", r.failed())
			res.Add("zero-loss", g, name, "requests", "requests", "", r.Requests)
			res.Add("zero-loss", g, name, "slowest", "ms", "lower", round2(r.MaxUS/1000))
			res.Add("zero-loss", g, name, "p99.9", "ms", "lower", round2(r.P999US/1000))
			if mode != "" {
				res.Add("zero-loss", g, name, "done after", "s", "lower", round2(rec))
			}
			fmt.Printf("  %-40s | %-46s failed %.0f of %.0f; done after %.2fs; slowest %.0f ms\n",
				g, name, r.failed(), r.Requests, rec, r.MaxUS/1000)
		}
	}
	return nil
}
