// Command runner runs shardinit's benchmark suite (bench/run.sh is the entry
// point: it installs the load generators, builds, then runs this). Every
// load goes to 127.0.0.1, every load run is bounded in time, and every
// process started is stopped by its PID. Results go to bench/results.json;
// bench/cmd/report turns them into docs/benchmarks.md.
//
// Settings come from the environment (see bench/run.sh): RUNS, DURATION,
// SMOKE, SECTIONS, WORKERS, CONNS, THREADS, GO_ROUNDS, NODE_ROUNDS,
// PY_ROUNDS, LAT_LOAD, LAT_CONNS, START_N, BAL_WORKERS, BAL_DURATION, ORPHANS,
// FRESH, OUT,
// SHARDINIT, HELLO.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shardinit/shardinit/bench/internal/results"
)

// allSections in the order they run.
var allSections = []string{"zero-cost", "multi-core", "latency", "balance", "pid1", "zero-loss", "gobench", "steering"}

type config struct {
	root, tmp, out string
	shardinit      string // bin/shardinit
	hello          string // bin/hello
	cpu            string // the Go worker (bench/workers/cpu)
	loadgen        string
	nodeScript     string
	pyDir          string

	runs        int
	duration    time.Duration
	balDuration time.Duration
	warmup      time.Duration
	smoke       bool
	sections    []string
	workers     int
	conns       int
	threads     int
	goRounds    int
	nodeRounds  int
	pyRounds    int
	latLoad     float64
	latConns    int
	startN      []int
	balN        []int
	orphans     int
	fresh       bool
	preload     bool
	preloadWhy  string
}

var (
	cfg config
	res *results.File
)

func main() {
	root := flag.String("root", ".", "the repository root")
	bindir := flag.String("bin", "bench/.bin", "where run.sh built the benchmark's programs")
	flag.Parse()
	if err := setup(*root, *bindir); err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	code := run(ctx)
	stopAll()
	os.RemoveAll(cfg.tmp)
	os.Exit(code)
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			fmt.Fprintf(os.Stderr, "runner: %s=%q: not a number\n", name, v)
			os.Exit(2)
		}
		return n
	}
	return def
}

func envInts(name string, def []int) []int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var out []int
	for _, f := range strings.Fields(strings.ReplaceAll(v, ",", " ")) {
		n, err := strconv.Atoi(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "runner: %s=%q: not a list of numbers\n", name, v)
			os.Exit(2)
		}
		out = append(out, n)
	}
	return out
}

// envSeconds reads whole seconds: "10", "10s" (wrk counts whole seconds).
func envSeconds(name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, err2 := strconv.Atoi(v)
		if err2 != nil {
			fmt.Fprintf(os.Stderr, "runner: %s=%q: want seconds (10 or 10s)\n", name, v)
			os.Exit(2)
		}
		d = time.Duration(n) * time.Second
	}
	return max(d.Round(time.Second), time.Second)
}

func setup(root, bindir string) error {
	abs, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	cfg.root = abs
	if !filepath.IsAbs(bindir) {
		bindir = filepath.Join(abs, bindir)
	}
	cfg.shardinit = filepath.Join(abs, "bin/shardinit")
	cfg.hello = filepath.Join(abs, "bin/hello")
	cfg.cpu = filepath.Join(bindir, "cpu")
	cfg.loadgen = filepath.Join(bindir, "loadgen")
	cfg.nodeScript = filepath.Join(abs, "bench/workers/node/server.js")
	cfg.pyDir = filepath.Join(abs, "bench/workers/python")
	// SHARDINIT and HELLO point at other builds (default: make build's).
	if v := os.Getenv("SHARDINIT"); v != "" {
		cfg.shardinit, _ = filepath.Abs(v)
	}
	if v := os.Getenv("HELLO"); v != "" {
		cfg.hello, _ = filepath.Abs(v)
	}
	cfg.out = filepath.Join(abs, "bench/results.json")
	if v := os.Getenv("OUT"); v != "" {
		cfg.out = v
	}
	for _, f := range []string{cfg.shardinit, cfg.hello, cfg.cpu, cfg.loadgen} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%s missing: run bench/run.sh (it builds)", f)
		}
	}
	if cfg.tmp, err = os.MkdirTemp("", "shardinit-bench-"); err != nil {
		return err
	}

	cfg.smoke = os.Getenv("SMOKE") == "1"
	cores := runtime.NumCPU()
	cfg.runs = envInt("RUNS", 5)
	cfg.duration = envSeconds("DURATION", 10*time.Second)
	cfg.startN = envInts("START_N", []int{1, 2, 8, 32, 128})
	cfg.balN = envInts("BAL_WORKERS", []int{cores, 2 * cores})
	cfg.orphans = envInt("ORPHANS", 10000)
	if cfg.smoke {
		cfg.runs = envInt("RUNS", 1)
		cfg.duration = envSeconds("DURATION", 2*time.Second)
		cfg.startN = envInts("START_N", []int{1, 8, 32})
		cfg.balN = envInts("BAL_WORKERS", []int{cores})
		cfg.orphans = envInt("ORPHANS", 1000)
	}
	cfg.warmup = envSeconds("WARMUP", time.Second)
	// Balance needs counts, not a long run: half the load time.
	cfg.balDuration = envSeconds("BAL_DURATION", max(cfg.duration/2, time.Second))
	cfg.workers = envInt("WORKERS", cores)
	cfg.conns = envInt("CONNS", 64)
	cfg.threads = envInt("THREADS", min(2, cores))
	cfg.goRounds = envInt("GO_ROUNDS", 5000)
	cfg.nodeRounds = envInt("NODE_ROUNDS", 800)
	cfg.pyRounds = envInt("PY_ROUNDS", 3000)
	cfg.latConns = envInt("LAT_CONNS", 32)
	cfg.latLoad = 0.7
	if v := os.Getenv("LAT_LOAD"); v != "" {
		if cfg.latLoad, err = strconv.ParseFloat(v, 64); err != nil || cfg.latLoad <= 0 {
			return fmt.Errorf("LAT_LOAD=%q: want a fraction like 0.7", v)
		}
	}
	cfg.fresh = os.Getenv("FRESH") == "1"
	cfg.sections = allSections
	if v := os.Getenv("SECTIONS"); v != "" && v != "all" {
		cfg.sections = nil
		for _, s := range strings.Fields(strings.ReplaceAll(v, ",", " ")) {
			if !slices.Contains(allSections, s) {
				return fmt.Errorf("SECTIONS: unknown section %q (have %s)", s, strings.Join(allSections, " "))
			}
			cfg.sections = append(cfg.sections, s)
		}
	}
	if cfg.runs < 1 || cfg.workers < 1 || cfg.conns < cfg.threads || cfg.threads < 1 {
		return fmt.Errorf("RUNS, WORKERS and THREADS must be >= 1, CONNS >= THREADS")
	}
	// --preload needs the LD_PRELOAD shim built into bin/shardinit.
	out, err := exec.Command(cfg.shardinit, "check", "--preload", "--", "x").CombinedOutput()
	cfg.preload = err == nil
	if !cfg.preload {
		rel, _ := filepath.Rel(cfg.root, cfg.shardinit)
		cfg.preloadWhy = fmt.Sprintf("`%s check --preload -- x` fails: %s", rel, firstLine(string(out)))
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func run(ctx context.Context) int {
	res = &results.File{}
	if !cfg.fresh {
		if old, err := results.Read(cfg.out); err == nil {
			res = old
		}
	}
	// The sections run now replace what an earlier run left of them.
	res.Measurements = slices.DeleteFunc(res.Measurements, func(m results.Measurement) bool { return slices.Contains(cfg.sections, m.Section) })
	res.Skipped = slices.DeleteFunc(res.Skipped, func(s results.Skip) bool { return slices.Contains(cfg.sections, s.Section) })
	res.Notes = slices.DeleteFunc(res.Notes, func(n results.Note) bool { return slices.Contains(cfg.sections, n.Section) })
	if res.Seconds == nil {
		res.Seconds = map[string]float64{}
	}
	if res.Sections == nil {
		res.Sections = []string{}
	}
	res.Machine = machine()
	res.Settings = results.Settings{Runs: cfg.runs, DurationS: cfg.duration.Seconds(), WarmupS: cfg.warmup.Seconds(), BalanceS: cfg.balDuration.Seconds(),
		Smoke: cfg.smoke, Workers: cfg.workers, Connections: cfg.conns, Threads: cfg.threads,
		GoRounds: cfg.goRounds, NodeRounds: cfg.nodeRounds, PyRounds: cfg.pyRounds, LatencyLoad: cfg.latLoad,
		StartN: cfg.startN, Orphans: cfg.orphans, Preload: cfg.preload}
	res.Started = time.Now().UTC()

	fmt.Printf("machine: %d cores (%s), kernel %s, %s; load average %.2f\n", res.Machine.Cores, res.Machine.CPU,
		res.Machine.Kernel, res.Machine.OS, res.Machine.Load)
	fmt.Printf("settings: runs=%d duration=%s warm-up=%s workers=%d wrk -t%d -c%d smoke=%v sections=%s\n",
		cfg.runs, cfg.duration, cfg.warmup, cfg.workers, cfg.threads, cfg.conns, cfg.smoke, strings.Join(cfg.sections, ","))
	if !cfg.preload {
		fmt.Printf("preload: not available (%s): its cases are skipped\n", cfg.preloadWhy)
	}

	funcs := map[string]func(context.Context) error{
		"zero-cost": sectionZeroCost, "multi-core": sectionMultiCore, "latency": sectionLatency,
		"balance": sectionBalance, "pid1": sectionPID1, "zero-loss": sectionZeroLoss, "gobench": sectionGoBench,
		"steering": sectionSteering,
	}
	code := 0
	for _, s := range cfg.sections {
		if ctx.Err() != nil {
			code = 130
			break
		}
		fmt.Printf("\n== %s ==\n", s)
		t0 := time.Now()
		err := funcs[s](ctx)
		res.Seconds[s] = math.Round(time.Since(t0).Seconds()*10) / 10
		if !slices.Contains(res.Sections, s) {
			res.Sections = append(res.Sections, s)
		}
		if err != nil {
			fmt.Printf("%s: %v\n", s, err)
			res.Skipped = append(res.Skipped, results.Skip{Section: s, What: "the rest of the section", Why: err.Error()})
			if ctx.Err() != nil {
				code = 130
			} else {
				code = 1
			}
		}
		fmt.Printf("(%s took %.0fs)\n", s, time.Since(t0).Seconds())
		// Sections in a fixed order, whatever order earlier runs left.
		slices.SortStableFunc(res.Sections, func(a, b string) int {
			return slices.Index(allSections, a) - slices.Index(allSections, b)
		})
		res.Finished = time.Now().UTC()
		if err := res.Write(cfg.out); err != nil {
			fmt.Fprintln(os.Stderr, "runner: write results:", err)
			return 1
		}
	}
	return code
}

func note(section, format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	res.Notes = append(res.Notes, results.Note{Section: section, Text: text})
	fmt.Println("note:", text)
}

func skip(section, what, why string) {
	for _, s := range res.Skipped {
		if s.Section == section && s.What == what {
			return
		}
	}
	res.Skipped = append(res.Skipped, results.Skip{Section: section, What: what, Why: why})
	fmt.Printf("skipped: %s: %s\n", what, why)
}

func machine() results.Machine {
	m := results.Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Tools: map[string]string{}}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				m.CPU = strings.TrimSpace(line[strings.IndexByte(line, ':')+1:])
				break
			}
		}
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				m.OS = strings.Trim(v, `"`)
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		fmt.Sscanf(string(b), "MemTotal: %d kB", &kb)
		m.MemoryMiB = kb / 1024
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscanf(string(b), "%f", &m.Load)
	}
	version := func(name string, argv ...string) {
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if err == nil || len(out) > 0 {
			if v := firstLine(string(out)); v != "" && !strings.Contains(v, "not found") {
				m.Tools[name] = v
			}
		}
	}
	version("wrk", "wrk", "--version")
	version("node", "node", "--version")
	version("gunicorn", "gunicorn", "--version")
	version("tini", "tini", "--version")
	version("dumb-init", "dumb-init", "--version")
	version("shardinit", cfg.shardinit, "--version")
	if out, err := exec.Command("git", "-C", cfg.root, "describe", "--always", "--dirty").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	return m
}
