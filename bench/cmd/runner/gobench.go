package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

var benchGroups = map[string]string{
	"Spawn":         "spawn a pool of N workers and stop it (pkg/spawn)",
	"Reap":          "reap an orphan storm (pkg/spawn as subreaper)",
	"MetricsScrape": "/metrics scrape, N workers and N shards (pkg/health, pkg/listen)",
	"Status":        "/status, N workers and N shards (pkg/health, pkg/listen)",
}

// 7. Go benchmarks (testing.B) of the control paths that grow with N.
func sectionGoBench(ctx context.Context) error {
	args := []string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", strconv.Itoa(cfg.runs), "-timeout", "30m"}
	if cfg.smoke {
		args = append(args, "-benchtime", "1x")
	}
	args = append(args, "./bench/gobench/")
	var spawnN []string
	for _, n := range cfg.startN {
		spawnN = append(spawnN, strconv.Itoa(n))
	}
	cctx, cancel := context.WithTimeout(ctx, 40*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, "go", args...)
	cmd.Dir = cfg.root
	cmd.Env = append(os.Environ(), fmt.Sprintf("BENCH_ORPHANS=%d", cfg.orphans), "BENCH_SPAWN_N="+strings.Join(spawnN, " "))
	fmt.Println("  go", strings.Join(args, " "))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go test -bench: %v: %s", err, lastLines(string(out), 10))
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		fmt.Println("  " + line)
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i] // the GOMAXPROCS suffix
		}
		bench, cas, _ := strings.Cut(name, "/")
		group := benchGroups[bench]
		if group == "" {
			group = bench
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			unit := f[i+1]
			if unit == "ns/op" {
				v, unit = v/1000, "µs/op"
			}
			res.Add("gobench", group, cas, unit, unit, "lower", v)
		}
	}
	return nil
}
