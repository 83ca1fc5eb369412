// Command report turns bench/results.json into docs/benchmarks.md: a table
// per group of measurements (median, min–max, runs), SVG charts
// (docs/bench-*.svg, drawn here by hand), the machine beside every figure,
// and a table of the goals, met or not.
//
//	go run ./bench/cmd/report [-in bench/results.json] [-out docs/benchmarks.md]
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/shardinit/shardinit/bench/internal/results"
)

func main() {
	in := flag.String("in", "bench/results.json", "results written by bench/cmd/runner")
	out := flag.String("out", "docs/benchmarks.md", "the page to write; charts go beside it as bench-*.svg")
	flag.Parse()
	f, err := results.Read(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	dir := filepath.Dir(*out)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	// The charts of an earlier report go: this one writes its own.
	old, _ := filepath.Glob(filepath.Join(dir, "bench-*.svg"))
	for _, o := range old {
		os.Remove(o)
	}
	r := &report{f: f, dir: dir}
	md := r.render()
	if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	fmt.Printf("report: wrote %s and %d charts\n", *out, r.charts)
}

type report struct {
	f      *results.File
	dir    string
	b      strings.Builder
	charts int
}

func (r *report) p(format string, args ...any) { fmt.Fprintf(&r.b, format, args...) }

// num formats a figure with the precision it deserves.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return "–"
	case v == math.Trunc(v) && a < 1e15:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	case a >= 0.01:
		return fmt.Sprintf("%.3f", v)
	default:
		return fmt.Sprintf("%.4f", v)
	}
}

// cell is "median (min–max)", or the value alone for one run.
func cell(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	med := results.Median(v)
	lo, hi := results.MinMax(v)
	if len(v) == 1 || lo == hi {
		return num(med)
	}
	return fmt.Sprintf("%s (%s–%s)", num(med), num(lo), num(hi))
}

func (r *report) machineLine() string {
	m := r.f.Machine
	return fmt.Sprintf("%d cores (%s), kernel %s", m.Cores, m.CPU, m.Kernel)
}

func (r *report) footer(runs int) string {
	s := fmt.Sprintf("median of %d run%s, whiskers min–max · %s", runs, plural(runs), r.machineLine())
	if r.f.Settings.Smoke {
		s += " · SMOKE run: not results"
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// chart writes an SVG beside the page and links it.
func (r *report) chart(name, svg, alt string) {
	r.charts++
	file := fmt.Sprintf("bench-%s.svg", name)
	if err := os.WriteFile(filepath.Join(r.dir, file), []byte(svg), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		return
	}
	r.p("![%s](%s)\n\n", alt, file)
}

// groups lists the groups of a section in the order they were measured.
func (r *report) groups(section string) []string {
	var out []string
	for _, m := range r.f.Measurements {
		if m.Section == section && !slices.Contains(out, m.Group) {
			out = append(out, m.Group)
		}
	}
	return out
}

func (r *report) cases(section, group string) []string {
	var out []string
	for _, m := range r.f.Measurements {
		if m.Section == section && m.Group == group && !slices.Contains(out, m.Case) {
			out = append(out, m.Case)
		}
	}
	return out
}

func (r *report) metrics(section, group string) []results.Measurement {
	var out []results.Measurement
	seen := map[string]bool{}
	for _, m := range r.f.Measurements {
		if m.Section == section && m.Group == group && !seen[m.Metric] {
			seen[m.Metric] = true
			out = append(out, m)
		}
	}
	return out
}

func (r *report) values(section, group, cas, metric string) []float64 {
	if m := r.f.Find(section, group, cas, metric); m != nil {
		return m.Values
	}
	return nil
}

// ratio of a to b: per run when both have a value for every run (runs are
// interleaved, so run i of each was measured close in time), else of the
// medians.
func ratio(a, b []float64) []float64 {
	if len(a) == 0 || len(b) == 0 {
		return nil
	}
	if len(a) == len(b) {
		out := make([]float64, len(a))
		for i := range a {
			if b[i] == 0 {
				return nil
			}
			out[i] = a[i] / b[i]
		}
		return out
	}
	mb := results.Median(b)
	if mb == 0 {
		return nil
	}
	return []float64{results.Median(a) / mb}
}

func findCase(cases []string, sub string) string {
	for _, c := range cases {
		if strings.Contains(c, sub) {
			return c
		}
	}
	return ""
}

// table writes a group as cases × metrics; with ref set, a column of each
// case's refMetric divided by the ref case's.
func (r *report) table(section, group, ref, refMetric string, cellFn func(metric string, v []float64) string) {
	ms := r.metrics(section, group)
	cases := r.cases(section, group)
	r.p("| configuration |")
	for _, m := range ms {
		unit := ""
		if m.Unit != "" && m.Unit != m.Metric {
			unit = " (" + m.Unit + ")"
		}
		r.p(" %s%s |", m.Metric, unit)
		if ref != "" && m.Metric == refMetric {
			r.p(" ÷ %s |", shortName(ref))
		}
	}
	r.p(" runs |\n|---|")
	for _, m := range ms {
		r.p("---:|")
		if ref != "" && m.Metric == refMetric {
			r.p("---:|")
		}
	}
	r.p("---:|\n")
	for _, c := range cases {
		name := c
		if strings.HasPrefix(c, "shardinit") {
			name = "**" + c + "**"
		}
		r.p("| %s |", name)
		runs := 0
		for _, m := range ms {
			v := r.values(section, group, c, m.Metric)
			runs = max(runs, len(v))
			if cellFn != nil {
				r.p(" %s |", cellFn(m.Metric, v))
			} else {
				r.p(" %s |", cell(v))
			}
			if ref != "" && m.Metric == refMetric {
				if c == ref {
					r.p(" 1 |")
				} else {
					r.p(" %s |", cell(ratio(v, r.values(section, group, ref, m.Metric))))
				}
			}
		}
		r.p(" %d |\n", runs)
	}
	r.p("\n")
}

func shortName(c string) string {
	switch {
	case strings.Contains(c, "by hand"):
		return "by hand"
	case strings.Contains(c, "one process"):
		return "one process"
	}
	return c
}

// bars charts one metric of a group, a bar per case.
func (r *report) bars(name, title, section, group, metric string) {
	var bs []bar
	runs, unit := 0, ""
	for _, c := range r.cases(section, group) {
		m := r.f.Find(section, group, c, metric)
		if m == nil || len(m.Values) == 0 {
			continue
		}
		bs = append(bs, barOf(c, m.Values, strings.HasPrefix(c, "shardinit")))
		runs, unit = max(runs, len(m.Values)), m.Unit
	}
	if len(bs) == 0 {
		return
	}
	r.chart(name, barChart(title, metric+" ("+unit+")", r.footer(runs), []barSeries{{name: metric, bars: bs}}), title)
}

func (r *report) notes(section string) {
	for _, n := range r.f.Notes {
		if n.Section == section {
			r.p("- Note: %s\n", n.Text)
		}
	}
	for _, s := range r.f.Skipped {
		if s.Section == section {
			r.p("- **Not measured:** %s — %s\n", s.What, s.Why)
		}
	}
	r.p("\n")
}

func (r *report) has(section string) bool {
	return slices.Contains(r.f.Sections, section)
}

func (r *report) render() string {
	f := r.f
	m := f.Machine
	s := f.Settings
	r.p("# Benchmarks\n\n")
	r.p("<!-- Generated by bench/cmd/report from bench/results.json (`make bench`). Do not edit: run the suite again. -->\n\n")
	if s.Smoke {
		r.p("> **This is a SMOKE run** (SMOKE=1: %d run of %gs per load, small N lists). It shows that the suite works end to end; "+
			"its numbers are not results. Run `make bench` for the full suite.\n\n", s.Runs, s.DurationS)
	}
	r.p("**Machine:** %s, %s, %d MiB of memory, %s; load average %.2f when the run began.  \n", r.machineLine(), m.OS, m.MemoryMiB, m.Go, m.Load)
	r.p("**Tree:** `%s`. **Run:** %s – %s UTC.  \n", m.Commit, f.Started.Format("2006-01-02 15:04"), f.Finished.Format("15:04"))
	var tools []string
	for _, k := range []string{"shardinit", "wrk", "node", "gunicorn", "tini", "dumb-init"} {
		if v, ok := m.Tools[k]; ok {
			tools = append(tools, fmt.Sprintf("%s: `%s`", k, v))
		}
	}
	r.p("**Tools:** %s.  \n", strings.Join(tools, "; "))
	r.p("**Settings:** %d run%s per case, %gs per load run (%gs in section 4) after a %gs warm-up (discarded); %d workers; "+
		"closed loop: `wrk -t%d -c%d`; CPU-bound handlers: %d × SHA-256 (Go), %d (node), %d (python).\n\n",
		s.Runs, plural(s.Runs), s.DurationS, s.BalanceS, s.WarmupS, s.Workers, s.Threads, s.Connections, s.GoRounds, s.NodeRounds, s.PyRounds)
	r.p("Every figure is the **median** of its runs with the **min–max** spread beside it (\"median (min–max)\"), and says how many runs it has. " +
		"Runs are interleaved (run 1 of every configuration, then run 2, …, each run in a rotated order), so a ratio is taken run by run " +
		"and its median and spread are shown. Everything runs on loopback on the one machine: the load generator shares the cores with the server, " +
		"the same for every configuration.\n\n")
	r.p("Sections: ")
	var links []string
	for _, sec := range f.Sections {
		links = append(links, fmt.Sprintf("[%s](#%s)", titles[sec], anchor(titles[sec])))
	}
	r.p("%s.\n\n", strings.Join(links, " · "))

	r.goals()

	for _, sec := range f.Sections {
		r.p("## %s\n\n", titles[sec])
		if secs, ok := f.Seconds[sec]; ok {
			r.p("*%s · took %.0f s*\n\n", r.machineLine(), secs)
		}
		r.p("%s\n\n", intros[sec])
		switch sec {
		case "zero-cost":
			r.zeroCost()
		case "multi-core":
			r.multiCore()
		case "latency":
			r.latency()
		case "balance":
			r.balance()
		case "pid1":
			r.pid1()
		case "zero-loss":
			r.zeroLoss()
		case "gobench":
			r.goBench()
		case "steering":
			for _, g := range r.groups("steering") {
				r.p("### %s\n\n", g)
				r.table("steering", g, "", "", nil)
			}
		}
		r.notes(sec)
	}
	return r.b.String()
}

func anchor(title string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(title) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteRune(c)
		case c == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

var titles = map[string]string{
	"zero-cost":  "1. Zero cost (Go)",
	"multi-core": "2. Multi-core win (node, python)",
	"latency":    "3. Latency at a constant rate",
	"balance":    "4. Balance between workers",
	"pid1":       "5. Cost of PID 1, start-to-ready",
	"zero-loss":  "6. Zero loss under load",
	"gobench":    "7. Go benchmarks of the control paths",
	"steering":   "8. Steering by load (--sockets balanced)",
}

var intros = map[string]string{
	"steering": "Per-worker sockets hash each new connection to a shard without looking at its worker. `--sockets balanced` " +
		"keeps those sockets and steers new connections away from a shard whose accept queue waits or whose worker is busy " +
		"(docs/sockets.md). Each group compares the three socket modes on the same workers, the modes in a rotating order run by " +
		"run. The last groups repeat sections 1 and 4's load (closed loop, 64 connections) where per-worker sockets already do " +
		"well: steering must cost nothing there.",
	"zero-cost": "The same Go binary (bench/workers/cpu) in every row, only launched differently: alone (binding the port itself), " +
		"under tini and dumb-init, as N processes that each bind the port with SO_REUSEPORT by hand — the limit shardinit's per-worker " +
		"sockets should equal — and under shardinit with per-worker sockets and with one shared socket. shardinit gives each Go worker " +
		"GOMAXPROCS = cores / N, and the hand-launched processes get the same. The claim here is zero cost, not a speed-up: with the " +
		"hello handler the load generator is the bottleneck on 2 cores and all rows should be about equal; the CPU-bound handler " +
		"(SHA-256 rounds per request) is where a difference would show. Closed loop (wrk): the latency columns are what each " +
		"client waited, queueing included; section 3 has the tails at a constant rate. --preload has no row here: a Go program " +
		"makes its system calls itself, so an LD_PRELOAD shim never sees its bind (section 2 measures --preload with node).",
	"multi-core": "Single-threaded runtimes are where N workers pay off. node: one process; node's cluster module with N workers " +
		"(the primary accepts and hands connections over); shardinit with N node processes serving fd 3 (`server.listen({fd: 3})`), " +
		"each on its own SO_REUSEPORT shard; and, when the LD_PRELOAD shim is built, shardinit --preload with node binding the port " +
		"itself. python: gunicorn -w 1, gunicorn -w N (its own prefork, one shared socket), and shardinit with N gunicorn masters " +
		"of one worker each, which take their shard through LISTEN_FDS.",
	"latency": "A closed loop (wrk) sends a request only when the previous one returned: when the server stalls the client stalls " +
		"with it, and the stall hides in a few slow samples (coordinated omission). Here bench/cmd/loadgen sends at a constant rate, " +
		"wrk2-style: every connection has a fixed schedule and each latency counts from when the request was due. The rate is a " +
		"fraction of what one process served in a closed loop, calibrated at the start of the section, the same for every " +
		"configuration. (Debian has no wrk2, and h2load's --rps measures from when a request is sent.)",
	"balance": "Requests each worker answered, counted by the PID in its answers (a wrk script), shardinit with per-worker " +
		"sockets against one shared socket. max/min is the busiest worker's count over the idlest one's. With keep-alive off every " +
		"request is a new connection and the kernel hashes each one to a shard; with keep-alive on, the wrk connections are spread " +
		"once, when they open, so per-worker sockets show the spread of hashing the few (here 64) connections, and a shared socket " +
		"shows which worker happened to accept them.",
	"pid1": "The supervisor process alone (not its workers): resident memory and CPU, idle (nobody asking, after one /metrics and " +
		"/status scrape) and under the closed-loop hello load, for shardinit with 4 workers and its health server on, beside tini " +
		"(-s) and dumb-init running one process. The processes run as children of the runner (a subreaper), not as PID 1 of a " +
		"namespace. Start-to-ready: from the exec of shardinit until /readyz answers 200, with --ready-on notify (every worker said " +
		"READY=1) and --ready-on start, against the same N workers launched by hand, timed until every one said READY=1 and the " +
		"first request was answered (their own start); " +
		"shardinit's own share is the difference, run by run.",
	"zero-loss": "shardinit with N Go CPU-bound workers under the closed-loop load (wrk, 64 connections); an event 2 s in. " +
		"failed = wrk's socket errors (connect, read, write, timeout) + non-2xx answers. *in flight on the victim* is the number of " +
		"established connections the worker held when it was stopped or killed (it is stopped first, so that it accepts nothing " +
		"while they are counted): the requests that can fail by design. *done after*: the roll finished, the slot had a new ready " +
		"worker, or shardinit had exited (drain), or it did not happen within the run. The drain case stops the load 2 s after SIGTERM, " +
		"inside the 3 s --drain-delay, as a load balancer that has taken the endpoint out would. " +
		"The *go-systemd + Shutdown* groups roll workers that take their sockets with go-systemd's activation.Listeners, say " +
		"READY=1 with daemon.SdNotify and stop with http.Server.Shutdown alone, as most Go servers in Kubernetes do: Shutdown " +
		"closes unanswered a connection accepted after it began, so these rows fail unless a roll stops a worker only once no " +
		"new connection reaches it. With keep-alive on, Shutdown also closes idle keep-alive connections just as wrk may send " +
		"the next request on one: a failure wrk cannot tell apart, and the server's own race in any restart. For a roll, *in " +
		"flight on the victim* adds up the most connections each replaced worker was seen to hold while the roll ran " +
		"(wrk reconnects after a close, and may land on a worker not yet replaced). " +
		"The *gunicorn sync, a 2s import* group rolls gunicorn workers (LISTEN_FDS, -w 1 per slot) whose app sleeps 2 s as " +
		"it is imported, under 8 wrk connections without keep-alive, once per --ready-on mode. gunicorn says READY=1 from its " +
		"master before its worker has imported the app, and start takes over after 1 s: a successor that takes over before it " +
		"accepts leaves its shard with nobody to accept, and the requests that land there wait. The slowest request bounds " +
		"how long that lasted; *no roll* is the same load left alone.",
	"gobench": "testing.B benchmarks in bench/gobench, against the exported APIs only: spawn.New/Pool.Run (a pool of N `sleep` " +
		"workers, until every slot is ready, then stopped), the reaping of an orphan storm (a worker's child forks N children " +
		"that exit at once, then exits itself: its N zombies go to the pool, the subreaper), and health's /metrics (with " +
		"listen.Bind's N shards, whose queues are read at scrape time) and /status for N workers. `go test -bench` picks the " +
		"iterations; each of the runs is one `-count`.",
}

func (r *report) zeroCost()  { r.throughput("zero-cost", "by hand") }
func (r *report) multiCore() { r.throughput("multi-core", "one process") }

// throughput writes a section's tables and bar charts, each row also as a
// ratio to the case whose name contains ref.
func (r *report) throughput(section, ref string) {
	for i, g := range r.groups(section) {
		r.p("### %s\n\n", g)
		r.table(section, g, findCase(r.cases(section, g), ref), "throughput", nil)
		r.bars(fmt.Sprintf("%s-%d", section, i+1), g+": throughput", section, g, "throughput")
	}
}

func (r *report) latency() {
	for i, g := range r.groups("latency") {
		r.p("### %s\n\n", g)
		r.table("latency", g, "", "", nil)
		var series []barSeries
		runs := 0
		for _, metric := range []string{"p50", "p99", "p99.9"} {
			s := barSeries{name: metric}
			for _, c := range r.cases("latency", g) {
				v := r.values("latency", g, c, metric)
				if len(v) == 0 {
					continue
				}
				s.bars = append(s.bars, barOf(c, v, strings.HasPrefix(c, "shardinit")))
				runs = max(runs, len(v))
			}
			series = append(series, s)
		}
		r.chart(fmt.Sprintf("latency-%d", i+1), barChart(g+": latency", "ms", r.footer(runs), series), g+": latency")
	}
	// The closed loop's tails, from section 1, for comparison.
	var closed []string
	for _, g := range r.groups("zero-cost") {
		if strings.Contains(g, "CPU-bound") {
			closed = append(closed, g)
		}
	}
	if len(closed) > 0 {
		r.p("### For comparison: the closed loop (wrk, 64 connections at full load, from section 1)\n\n")
		for _, g := range closed {
			r.p("%s:\n\n", g)
			r.p("| configuration | p50 (ms) | p99 (ms) | p99.9 (ms) | runs |\n|---|---:|---:|---:|---:|\n")
			for _, c := range r.cases("zero-cost", g) {
				p50 := r.values("zero-cost", g, c, "p50")
				r.p("| %s | %s | %s | %s | %d |\n", c, cell(p50), cell(r.values("zero-cost", g, c, "p99")),
					cell(r.values("zero-cost", g, c, "p99.9")), len(p50))
			}
			r.p("\n")
		}
	}
}

func (r *report) balance() {
	var bs []bar
	runs := 0
	for _, g := range r.groups("balance") {
		r.p("### %s\n\n", g)
		r.table("balance", g, "", "", nil)
		for _, c := range r.cases("balance", g) {
			v := r.values("balance", g, c, "max/min")
			if len(v) == 0 {
				continue
			}
			label := strings.TrimPrefix(g, "Go ")
			if i := strings.Index(label, " ("); i >= 0 {
				if j := strings.Index(label[i:], ")"); j >= 0 {
					label = label[:i] + label[i+j+1:]
				}
			}
			b := barOf(label+" · "+c, v, strings.HasPrefix(c, "per-worker"))
			b.text = num(b.med) // the value before the chart's cap below
			bs = append(bs, b)
			runs = max(runs, len(v))
		}
	}
	if len(bs) > 0 {
		// A worker that got nothing makes max/min as large as max: cap the
		// chart's scale so the rest stay readable.
		for i := range bs {
			for _, p := range []*float64{&bs[i].med, &bs[i].lo, &bs[i].hi} {
				*p = math.Min(*p, 5)
			}
		}
		r.chart("balance", barChart("requests per worker: max/min (1 = even; capped at 5)", "max/min", r.footer(runs),
			[]barSeries{{name: "max/min", bars: bs}}), "balance")
	}
}

func (r *report) pid1() {
	for _, g := range r.groups("pid1") {
		r.p("### %s\n\n", g)
		if strings.HasPrefix(g, "start-to-ready") {
			r.table("pid1", g, "", "", nil)
			var xs []string
			for _, m := range r.metrics("pid1", g) {
				xs = append(xs, m.Metric)
			}
			var series []lineSeries
			runs := 0
			for _, c := range r.cases("pid1", g) {
				s, n := seriesOf(c, xs, func(x string) []float64 { return r.values("pid1", g, c, x) })
				series, runs = append(series, s), max(runs, n)
			}
			r.chart("start-to-ready", lineChart("start-to-ready: exec until ready", "workers (N)", "ms", r.footer(runs), xs, series), "start-to-ready")
			continue
		}
		r.table("pid1", g, "", "", nil)
		r.bars("pid1-rss", "idle RSS of the supervisor process", "pid1", g, "idle RSS")
		r.bars("pid1-cpu", "CPU of the supervisor process under load", "pid1", g, "CPU under load")
	}
}

func (r *report) zeroLoss() {
	for _, g := range r.groups("zero-loss") {
		r.p("### %s\n\n", g)
		r.table("zero-loss", g, "", "", func(metric string, v []float64) string {
			if metric == "done after" && len(v) > 0 && slices.Min(v) < 0 {
				n := 0
				for _, x := range v {
					if x < 0 {
						n++
					}
				}
				if n == len(v) {
					return "not within the run"
				}
				return fmt.Sprintf("%s; not within the run in %d of %d", cell(slices.DeleteFunc(slices.Clone(v), func(x float64) bool { return x < 0 })), n, len(v))
			}
			return cell(v)
		})
	}
}

func (r *report) goBench() {
	for _, g := range r.groups("gobench") {
		r.p("### %s\n\n", g)
		r.table("gobench", g, "", "", nil)
	}
	// Growth with N, for the benchmarks that have an N.
	type line struct{ group, metric, name string }
	charts := []struct {
		file, title, unit string
		lines             []line
	}{
		{"gobench-spawn", "spawn: a pool of N workers until every slot is ready", "ms",
			[]line{{"spawn", "ms-to-ready/op", "ms to ready"}}},
		{"gobench-scrape", "/metrics and /status for N workers", "µs per request",
			[]line{{"/metrics", "µs/op", "/metrics"}, {"/status", "µs/op", "/status"}}},
	}
	for _, ch := range charts {
		var xs []string
		var series []lineSeries
		runs := 0
		for _, l := range ch.lines {
			g := ""
			for _, gg := range r.groups("gobench") {
				if strings.HasPrefix(gg, l.group) {
					g = gg
				}
			}
			if g == "" {
				continue
			}
			cases := r.cases("gobench", g)
			if xs == nil {
				xs = cases
			}
			s, n := seriesOf(l.name, xs, func(x string) []float64 { return r.values("gobench", g, x, l.metric) })
			series, runs = append(series, s), max(runs, n)
		}
		if len(series) > 0 {
			r.chart(ch.file, lineChart(ch.title, "N", ch.unit, r.footer(runs), xs, series), ch.title)
		}
	}
}

// barOf is one bar of a chart: the median of v, with its min–max whisker.
func barOf(label string, v []float64, emphasis bool) bar {
	lo, hi := results.MinMax(v)
	return bar{label: label, med: results.Median(v), lo: lo, hi: hi, runs: len(v), emphasis: emphasis}
}

// seriesOf is one line of a chart: the median and spread of values(x) at
// each x (a gap where there are none), and the most runs any point has.
func seriesOf(name string, xs []string, values func(x string) []float64) (lineSeries, int) {
	s, runs := lineSeries{name: name}, 0
	for _, x := range xs {
		v := values(x)
		if len(v) == 0 {
			s.points = append(s.points, point{x: x})
			continue
		}
		lo, hi := results.MinMax(v)
		s.points = append(s.points, point{x: x, med: results.Median(v), lo: lo, h: hi, ok: true})
		runs = max(runs, len(v))
	}
	return s, runs
}
