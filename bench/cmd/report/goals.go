package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shardinit/shardinit/bench/internal/results"
)

type goalRow struct {
	goal, target, measured, status, why string
}

const (
	met        = "✅ met"
	metMedian  = "⚠️ met by the median, not in every run"
	notMet     = "❌ not met"
	unmeasured = "– not measured"
)

// judge says whether the median of v meets the target (cmp ">=" or "<=").
func judge(v []float64, cmp string, target float64) string {
	if len(v) == 0 {
		return unmeasured
	}
	ok := func(x float64) bool {
		if cmp == ">=" {
			return x >= target
		}
		return x <= target
	}
	if !ok(results.Median(v)) {
		return notMet
	}
	for _, x := range v {
		if !ok(x) {
			return metMedian
		}
	}
	return met
}

func runsOf(v []float64) string {
	return fmt.Sprintf("%d run%s", len(v), plural(len(v)))
}

// goalTable collects the rows of the goals table.
type goalTable struct{ rows []goalRow }

// add judges v against a target (judge) and adds its row; why is kept
// only for a miss.
func (t *goalTable) add(goal, target string, v []float64, cmp string, th float64, why string) {
	st := judge(v, cmp, th)
	if st == met {
		why = "" // the caveat is for a miss
	}
	measured := "–"
	if len(v) > 0 {
		measured = cell(v) + ", " + runsOf(v)
	}
	t.rows = append(t.rows, goalRow{goal, target, measured, st, why})
}

// missing adds the row of a goal with nothing measured.
func (t *goalTable) missing(goal, target, why string) {
	t.rows = append(t.rows, goalRow{goal, target, "–", unmeasured, why})
}

func (r *report) goals() {
	t := &goalTable{}
	r.zeroCostGoals(t)
	r.multiCoreGoals(t)
	r.balanceGoals(t)
	r.zeroLossGoals(t)
	r.pid1Goals(t)
	r.steeringGoals(t)

	r.p("## Goals\n\n")
	r.p("*%s · each measured value is the median (min–max) over its runs; a ratio is taken run by run.*\n\n", r.machineLine())
	r.p("| goal | target | measured | status |\n|---|---|---|---|\n")
	for _, row := range t.rows {
		st := row.status
		if row.why != "" {
			st += " — " + row.why
		}
		r.p("| %s | %s | %s | %s |\n", row.goal, row.target, row.measured, st)
	}
	r.p("\n")
	var not []goalRow
	for _, row := range t.rows {
		if row.status == notMet || row.status == metMedian {
			not = append(not, row)
		}
	}
	if len(not) == 0 {
		r.p("Every goal measured was met.\n\n")
	} else {
		r.p("**Where the numbers do not reach the goals:**\n\n")
		for _, row := range not {
			r.p("- %s: %s, target %s (%s)", row.goal, row.measured, row.target, strings.TrimPrefix(strings.TrimPrefix(row.status, "❌ "), "⚠️ "))
			if row.why != "" {
				r.p(" — %s", row.why)
			}
			r.p(".\n")
		}
		r.p("\n")
	}
	if r.f.Settings.Smoke {
		r.p("*A smoke run has one short run per case: the statuses above only show that the suite computes them.*\n\n")
	}
}

// 1. Zero cost: every shardinit case against the SO_REUSEPORT group by hand.
func (r *report) zeroCostGoals(t *goalTable) {
	gs := r.groups("zero-cost")
	if len(gs) == 0 {
		t.missing("Go: shardinit ÷ hand-launched SO_REUSEPORT, every configuration", "≥ 0.97", "section zero-cost not run")
		return
	}
	for _, g := range gs {
		cases := r.cases("zero-cost", g)
		ref := findCase(cases, "by hand")
		for _, c := range cases {
			if !strings.HasPrefix(c, "shardinit") || ref == "" {
				continue
			}
			t.add(fmt.Sprintf("%s — %s ÷ by hand (throughput)", g, c), "≥ 0.97",
				ratio(r.values("zero-cost", g, c, "throughput"), r.values("zero-cost", g, ref, "throughput")), ">=", 0.97, "")
		}
	}
}

// 2. Multi-core: node and python.
func (r *report) multiCoreGoals(t *goalTable) {
	nodeDone, pyDone := false, false
	for _, g := range r.groups("multi-core") {
		cases := r.cases("multi-core", g)
		sh := findCase(cases, "shardinit ×")
		tput := func(c string) []float64 { return r.values("multi-core", g, c, "throughput") }
		if strings.HasPrefix(g, "node") {
			nodeDone = true
			one, cl := findCase(cases, "one process"), findCase(cases, "cluster")
			t.add(fmt.Sprintf("%s — %s ÷ one process", g, sh), "≥ 1.8", ratio(tput(sh), tput(one)), ">=", 1.8, "")
			t.add(fmt.Sprintf("%s — %s ÷ %s", g, sh, cl), "≥ 1.1", ratio(tput(sh), tput(cl)), ">=", 1.1, "")
		}
		if strings.HasPrefix(g, "python") {
			pyDone = true
			gw := findCase(cases, "own prefork")
			t.add(fmt.Sprintf("%s — %s ÷ %s", g, sh, gw), "≥ 1.0", ratio(tput(sh), tput(gw)), ">=", 1.0, "")
		}
	}
	if !nodeDone {
		t.missing("node: shardinit(N) ÷ one process; ÷ node cluster(N)", "≥ 1.8; ≥ 1.1", "section multi-core not run")
	}
	if !pyDone {
		t.missing("python: shardinit with N gunicorn masters ÷ gunicorn -w N", "≥ 1.0", "section multi-core not run")
	}
}

// 4. Balance.
func (r *report) balanceGoals(t *goalTable) {
	gs := r.groups("balance")
	if len(gs) == 0 {
		t.missing("balance with per-worker sockets, max/min", "≤ 1.2", "section balance not run")
		return
	}
	for _, g := range gs {
		why := ""
		if strings.HasSuffix(g, "keep-alive on") {
			why = "keep-alive on: 64 connections hashed once, see section 4"
		}
		t.add(fmt.Sprintf("balance, %s — per-worker sockets, max/min", g), "≤ 1.2",
			r.values("balance", g, "per-worker sockets", "max/min"), "<=", 1.2, why)
		if strings.HasSuffix(g, "keep-alive on") {
			const aged = "per-worker sockets, SHARDINIT_MAX_CONN_AGE=1s"
			if v := r.values("balance", g, aged, "max/min"); len(v) > 0 {
				t.add(fmt.Sprintf("balance, %s — %s, max/min", g, aged), "≤ 1.2", v, "<=", 1.2, "")
			}
		}
	}
}

// 6. Zero loss.
func (r *report) zeroLossGoals(t *goalTable) {
	gs := r.groups("zero-loss")
	if len(gs) == 0 {
		t.missing("zero failed requests: roll, SIGKILL, SIGSTOP, drain", "0", "section zero-loss not run")
		return
	}
	for _, g := range gs {
		for _, c := range r.cases("zero-loss", g) {
			goal := fmt.Sprintf("%s — %s: failed requests", g, c)
			failed := r.values("zero-loss", g, c, "failed")
			if len(failed) == 0 {
				t.missing(goal, "0", "no run completed")
				continue
			}
			t.rows = append(t.rows, r.zeroLossRow(goal, g, c, failed))
		}
	}
}

// zeroLossRow judges the failed requests of one zero-loss case: none, or
// for a SIGKILL none beyond those in flight on the killed worker.
func (r *report) zeroLossRow(goal, g, c string, failed []float64) goalRow {
	inflight := r.values("zero-loss", g, c, "in flight on the victim")
	done := r.values("zero-loss", g, c, "done after")
	if strings.Contains(g, "import") {
		return r.slowImportRow(goal, g, c, failed)
	}
	if strings.Contains(g, "Shutdown") && strings.HasSuffix(g, "keep-alive on") {
		return boundedRow(goal+" beyond the keep-alive connections the replaced workers held", failed, inflight,
			"http.Server.Shutdown closes idle keep-alive connections as wrk sends its next request on them: the server's own "+
				"race in any restart, which wrk cannot tell apart; TestRollGoSystemdShutdown counts the requests on new "+
				"connections apart, and none fail")
	}
	if strings.Contains(c, "SIGKILL") {
		st := met
		for i := range failed {
			if i >= len(inflight) || failed[i] > inflight[i] {
				st = notMet
			}
		}
		return goalRow{goal + " beyond those in flight on the killed worker", "≤ in flight",
			fmt.Sprintf("failed %s, in flight %s, %s", cell(failed), cell(inflight), runsOf(failed)), st,
			"the in-flight requests of a SIGKILLed worker are lost by design (counted separately)"}
	}
	st := judge(failed, "<=", 0)
	if st == metMedian {
		st = notMet // zero means zero in every run
	}
	why := ""
	notDone := 0
	for _, d := range done {
		if d < 0 {
			notDone++
		}
	}
	if notDone > 0 {
		st = notMet
		why = fmt.Sprintf("not done within the run in %d of %d runs", notDone, len(done))
		if strings.Contains(c, "SIGSTOP") {
			why += fmt.Sprintf("; the stopped worker was not replaced and the %s connections it held stalled "+
				"(with keep-alive no new connection queues on its shard, and --stuck-timeout watches the accept queue)", cell(inflight))
		}
	} else if strings.Contains(c, "SIGSTOP") && slices.Max(failed) > 0 {
		beyond := 0.0
		for i := range failed {
			if i < len(inflight) {
				beyond = max(beyond, failed[i]-inflight[i])
			}
		}
		why = fmt.Sprintf("the stopped worker is replaced, then killed after --stop-timeout without being continued, "+
			"so the requests on the connections it had accepted fail (in flight: %s; failed beyond those, worst run: %s)",
			cell(inflight), num(max(beyond, 0)))
	}
	return goalRow{goal, "0", cell(failed) + ", " + runsOf(failed), st, why}
}

// boundedRow judges failures against a bound run by run: none beyond it.
func boundedRow(goal string, failed, bound []float64, why string) goalRow {
	st := met
	for i := range failed {
		if i >= len(bound) || failed[i] > bound[i] {
			st = notMet
		}
	}
	return goalRow{goal, "≤ those connections",
		fmt.Sprintf("failed %s, connections %s, %s", cell(failed), cell(bound), runsOf(failed)), st, why}
}

// slowImportRow judges a roll of workers that import slowly: with
// --ready-on accept no request waits for a successor's import (the
// slowest ≤ 100 ms, which bounds how long a shard was without an accepting
// process); the other modes are there to compare and only must not fail.
func (r *report) slowImportRow(goal, g, c string, failed []float64) goalRow {
	if !strings.Contains(c, "--ready-on accept") {
		st := judge(failed, "<=", 0)
		if st == metMedian {
			st = notMet
		}
		return goalRow{goal, "0", cell(failed) + ", " + runsOf(failed), st, ""}
	}
	slowest := r.values("zero-loss", g, c, "slowest")
	st := judge(slowest, "<=", 100)
	if slices.Max(failed) > 0 {
		st = notMet
	}
	quiet := r.values("zero-loss", g, findCase(r.cases("zero-loss", g), "no roll"), "slowest")
	return goalRow{g + " — " + c + ": failed requests; slowest request", "0; ≤ 100 ms",
		fmt.Sprintf("failed %s; slowest %s ms, %s", cell(failed), cell(slowest), runsOf(slowest)), st,
		fmt.Sprintf("a shard left without an accepting process would hold the requests that land on it until the import "+
			"ends (compare the notify and start rows); the same load with no roll: slowest %s ms", cell(quiet))}
}

// 5. PID 1: idle memory and start-to-ready.
func (r *report) pid1Goals(t *goalTable) {
	if g := findGroup(r.groups("pid1"), "supervisor"); g != "" {
		sh := findCase(r.cases("pid1", g), "shardinit")
		t.add(fmt.Sprintf("idle RSS of shardinit (%s)", sh), "≤ 10 MiB", r.values("pid1", g, sh, "idle RSS"), "<=", 10, "")
		if v := r.values("pid1", g, sh, "RSS after 1,000 scrapes"); len(v) > 0 {
			t.add(fmt.Sprintf("RSS of shardinit after 1,000 scrapes (%s)", sh), "≤ 10 MiB", v, "<=", 10,
				"read at once: the heap the scrapes leave (GOGC 100) and the code and data the scrape path maps, until a second of quiet gives them back")
		}
		if v := r.values("pid1", g, sh, "RSS 2 s after 1,000 scrapes"); len(v) > 0 {
			t.add(fmt.Sprintf("RSS of shardinit idle again, 2 s after 1,000 scrapes (%s)", sh), "≤ 10 MiB", v, "<=", 10, "")
		}
	} else {
		t.missing("idle RSS of shardinit (4 workers, health on)", "≤ 10 MiB", "section pid1 not run")
	}
	g := findGroup(r.groups("pid1"), "start-to-ready")
	if g == "" {
		t.missing("start-to-ready, 128 workers: shardinit's own share", "< 1000 ms", "section pid1 not run")
		return
	}
	share := findCase(r.cases("pid1", g), "own share")
	if v := r.values("pid1", g, share, "N=128"); len(v) > 0 {
		t.add("start-to-ready, 128 workers: shardinit's own share (beyond the workers' own start)", "< 1000 ms", v, "<=", 1000, "")
		return
	}
	ms := r.metrics("pid1", g)
	why := "N=128 not in START_N"
	if len(ms) > 0 {
		last := ms[len(ms)-1].Metric
		why += fmt.Sprintf(" (largest measured, %s: %s ms)", last, cell(r.values("pid1", g, share, last)))
	}
	t.missing("start-to-ready, 128 workers: shardinit's own share", "< 1000 ms", why)
}

func findGroup(groups []string, sub string) string {
	i := slices.IndexFunc(groups, func(g string) bool { return strings.Contains(g, sub) })
	if i < 0 {
		return ""
	}
	return groups[i]
}

// 8. Steering by load: balanced sockets against the shared socket where
// per-worker sockets hurt, and against per-worker sockets where they do not.
func (r *report) steeringGoals(t *goalTable) {
	gs := r.groups("steering")
	if len(gs) == 0 {
		t.missing("balanced sockets: gunicorn sync, a slow worker, the async rows", "see section 8", "section steering not run")
		return
	}
	const bal, shared, per = "balanced sockets", "shared socket", "per-worker sockets"
	v := func(g, c, m string) []float64 { return r.values("steering", g, c, m) }
	for _, g := range gs {
		switch {
		case strings.HasPrefix(g, "gunicorn"):
			if strings.Contains(g, "closed loop") {
				t.add(g+" — balanced ÷ shared (throughput)", "≥ 0.97", ratio(v(g, bal, "throughput"), v(g, shared, "throughput")), ">=", 0.97,
					"clients that reconnect within microseconds of each other (a closed loop falls into step) are steered by the same program: it keeps no state to tell them apart")
			}
			why := "a worker that just became busy is seen up to a sample late, and a connection steered in that time waits for it"
			if strings.Contains(g, "closed loop") {
				why = "as above"
			}
			t.add(g+" — balanced ÷ shared (p99)", "≤ 1.1", ratio(v(g, bal, "p99"), v(g, shared, "p99")), "<=", 1.1, why)
		case strings.Contains(g, "paused"):
			t.add(g+" — balanced ÷ shared (p99)", "≤ 1", ratio(v(g, bal, "p99"), v(g, shared, "p99")), "<=", 1,
				"the connections that reach the paused worker before its queue is seen to wait, and the requests it had accepted, wait out its pause")
			t.add(g+" — balanced ÷ per-worker (p99)", "≤ 0.5", ratio(v(g, bal, "p99"), v(g, per, "p99")), "<=", 0.5, "")
		default:
			t.add(g+" — balanced ÷ per-worker (throughput)", "≥ 0.97", ratio(v(g, bal, "throughput"), v(g, per, "throughput")), ">=", 0.97,
				"the balancer samples at every burst of new connections: its CPU (the shardinit CPU column) is taken from the workers")
			why := ""
			if strings.Contains(g, "keep-alive on") {
				why = "keep-alive on: 64 connections placed once, as with per-worker sockets (section 4)"
			}
			t.add(g+" — balanced sockets, max/min", "≤ 1.2", v(g, bal, "max/min"), "<=", 1.2, why)
		}
	}
}
