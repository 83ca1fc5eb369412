package spawn

import (
	"math"
	"strings"
	"testing"
	"time"
)

// The supervisor's state machine, driven by scripts: signals, notes,
// exits and the clock go straight in, and every fork, kill and change to
// the sockets that comes out is checked, in order. Each case starts with
// its workers forked (w1, w2, …) and not yet ready; with two slots, shards
// 0 and 1 are theirs and a roll's fresh shard is 2.
var supervisorCases = []struct {
	name string
	cfg  Config
	sc   script
	then func(t *testing.T, m *machine)
}{{
	name: "a successor that exits before it is ready ends the roll; its fresh shard closes, the old workers serve on",
	cfg:  Config{Workers: 2, ReadyOn: ReadyOnNotify},
	sc: script{
		{"ready", ""},
		{"signal SIGHUP", "add shard 2 fenced=true; steer away from [2]; fork w3"},
		{"exit w3 1", "close shard 2; unsteer"},
		{"pass 1m", ""},
	},
	then: func(t *testing.T, m *machine) {
		m.wantCurrent("w1", "w2")
		if m.s.roll != nil || m.s.counters.RollFailures != 1 {
			t.Errorf("roll %+v, %d failures; want it ended with one", m.s.roll, m.s.counters.RollFailures)
		}
	},
}, {
	name: "a successor not ready in time is stopped, and its shard stays steered away from until it exits",
	cfg:  Config{Workers: 2, ReadyOn: ReadyOnNotify, ReadyTimeout: time.Second},
	sc: script{
		{"ready", ""},
		{"signal SIGHUP", "add shard 2 fenced=true; steer away from [2]; fork w3"},
		{"pass 999ms", ""},
		{"pass 1ms", "kill -w3 SIGTERM; kill -w3 SIGCONT"},
		{"pass 1s", ""},
		{"exit w3 SIGTERM", "close shard 2; unsteer"},
	},
	then: func(t *testing.T, m *machine) {
		m.wantCurrent("w1", "w2")
		if m.s.counters.RollFailures != 1 || m.s.slots[0].handover != nil {
			t.Errorf("%d roll failures, handover %+v; want one, none", m.s.counters.RollFailures, m.s.slots[0].handover)
		}
	},
}, {
	name: "a roll steers to the ready successor, stops the predecessor once its queue stayed empty, gives the successor's shard its number, and the next slot's successor starts in that same pass",
	cfg:  Config{Workers: 2, ReadyOn: ReadyOnNotify},
	sc: script{
		{"ready", ""},
		{"signal SIGHUP", "add shard 2 fenced=true; steer away from [2]; fork w3"},
		{"queue 0 3", ""},
		{"note w3 READY=1", "steer away from [0]"},
		{"pass 1s", ""}, // the predecessor still has connections queued
		{"queue 0 0", ""},
		{"pass 0s", ""}, // seen empty
		{"pass 199ms", ""},
		{"pass 1ms", "kill -w1 SIGTERM; kill -w1 SIGCONT; add shard 3 fenced=true; steer away from [0 3]; fork w4"},
		{"exit w1 SIGTERM", "replace shard 0 by 2; steer away from [2]"},
		{"note w4 READY=1", "steer away from [1]"},
		{"pass 200ms", "kill -w2 SIGTERM; kill -w2 SIGCONT"},
		{"exit w2 SIGTERM", "replace shard 1 by 2; unsteer"},
	},
	then: func(t *testing.T, m *machine) {
		m.wantCurrent("w3", "w4")
		if m.s.roll != nil || m.s.counters.RollFailures != 0 {
			t.Errorf("roll %+v, %d failures; want it done, none", m.s.roll, m.s.counters.RollFailures)
		}
		// From SIGHUP to the last predecessor told to stop: 1.4 s.
		if h := m.s.counters.RollDurations; h.Count != 1 || math.Abs(h.Sum-1.4) > 1e-9 || h.Cumulative()[1] != 0 || h.Cumulative()[2.5] != 1 {
			t.Errorf("roll durations %+v, want one of 1.4 s", h)
		}
		if h := m.s.counters.StartToReady; h.Count != 4 {
			t.Errorf("%d start-to-ready durations, want 4 (two workers, two successors)", h.Count)
		}
		wantRestarts(t, m, map[string]uint64{RestartRoll: 2})
	},
}, {
	name: "a second SIGHUP mid-roll starts over but keeps the successor under way: never two for one slot",
	cfg:  Config{Workers: 2, ReadyOn: ReadyOnNotify},
	sc: script{
		{"ready", ""},
		{"signal SIGHUP", "add shard 2 fenced=true; steer away from [2]; fork w3"},
		{"signal SIGHUP", ""},
		{"note w3 READY=1", "steer away from [0]"},
		{"pass 200ms", "kill -w1 SIGTERM; kill -w1 SIGCONT; add shard 3 fenced=true; steer away from [0 3]; fork w4"},
		{"exit w1 0", "replace shard 0 by 2; steer away from [2]"},
		{"note w4 READY=1", "steer away from [1]"},
		{"pass 200ms", "kill -w2 SIGTERM; kill -w2 SIGCONT"},
		{"exit w2 0", "replace shard 1 by 2; unsteer"},
		{"pass 1m", ""},
	},
	then: func(t *testing.T, m *machine) {
		m.wantCurrent("w3", "w4")
		if m.s.counters.Rolls != 2 || m.s.roll != nil {
			t.Errorf("%d rolls, roll %+v; want 2, done", m.s.counters.Rolls, m.s.roll)
		}
		wantRestarts(t, m, map[string]uint64{RestartRoll: 2})
	},
}, {
	name: "a SIGHUP while a predecessor drains rolls that slot again once its handover is done",
	cfg:  Config{Workers: 1, ReadyOn: ReadyOnNotify},
	sc: script{
		{"ready", ""},
		{"signal SIGHUP", "add shard 1 fenced=true; steer away from [1]; fork w2"},
		{"queue 0 1", ""},
		{"note w2 READY=1", "steer away from [0]"},
		{"signal SIGHUP", ""}, // w1 still serves out its queue
		{"queue 0 0", ""},
		{"pass 0s", ""},
		{"pass 200ms", "kill -w1 SIGTERM; kill -w1 SIGCONT"},
		{"exit w1 SIGTERM", "replace shard 0 by 1; unsteer; add shard 1 fenced=true; steer away from [1]; fork w3"},
	},
	then: func(t *testing.T, m *machine) {
		if w := m.s.slots[0].successor; w == nil || m.name(w.pid) != "w3" {
			t.Errorf("slot 0's successor %v, want w3", w)
		}
	},
}, {
	name: "the current worker exiting mid-roll hands the slot to its successor, ready or not",
	cfg:  Config{Workers: 1, ReadyOn: ReadyOnNotify},
	sc: script{
		{"ready", ""},
		{"signal SIGHUP", "add shard 1 fenced=true; steer away from [1]; fork w2"},
		{"exit w1 1", "steer away from [0]; replace shard 0 by 1; unsteer"},
	},
	then: func(t *testing.T, m *machine) { m.wantCurrent("w2") },
}, {
	name: "a crash restarts at once, the next quick one after a backoff, and one past --max-restarts ends the pool",
	cfg:  Config{Workers: 1, ReadyOn: ReadyOnNotify, MaxRestarts: 2, RestartWindow: time.Minute},
	sc: script{
		{"exit w1 3", "fork w2"},
		{"exit w2 3", ""},         // backs off 50–100 ms
		{"pass 100ms", "fork w3"}, // the budget's second restart
		{"exit w3 3", ""},
		{"phase stopping", ""},
	},
	then: func(t *testing.T, m *machine) {
		if !m.s.finished(m.now) || m.s.exitCode != 3 {
			t.Errorf("finished %t, exit code %d; want true, 3 (the workers')", m.s.finished(m.now), m.s.exitCode)
		}
		wantRestarts(t, m, map[string]uint64{RestartCrash: 2})
	},
}, {
	name: "quick crashes back off from 100ms, doubling, up to MaxBackoff",
	cfg:  Config{Workers: 1, ReadyOn: ReadyOnNotify, MaxRestarts: -1, MaxBackoff: 200 * time.Millisecond},
	sc: script{
		{"exit w1 1", "fork w2"},
		{"exit w2 1", ""},
		{"pass 100ms", "fork w3"}, // 50–100 ms
		{"exit w3 1", ""},
		{"pass 200ms", "fork w4"}, // 100–200 ms
		{"exit w4 1", ""},
		{"pass 200ms", "fork w5"}, // 200–400 ms, but at most 200
		{"exit w5 1", ""},
		{"pass 200ms", "fork w6"},
	},
}, {
	name: "crashes further apart than --restart-window are restarted for ever",
	cfg:  Config{Workers: 1, ReadyOn: ReadyOnNotify, MaxRestarts: 1, RestartWindow: time.Minute},
	sc: script{
		{"pass 61s", ""},
		{"exit w1 1", "fork w2"},
		{"pass 61s", ""},
		{"exit w2 1", "fork w3"},
		{"pass 61s", ""},
		{"exit w3 1", "fork w4"},
		{"phase running", ""},
	},
}, {
	name: "a worker that misses its watchdog ping is replaced, and that spends the restart budget",
	cfg:  Config{Workers: 1, ReadyOn: ReadyOnNotify, Watchdog: time.Second, MaxRestarts: 1},
	sc: script{
		{"ready", ""},
		{"pass 900ms", ""},
		{"note w1 WATCHDOG=1", ""},
		{"pass 999ms", ""},
		{"pass 1ms", "fork w2; kill -w1 SIGTERM; kill -w1 SIGCONT"},
		{"exit w1 SIGTERM", ""},
		{"pass 5s", ""}, // no ping is due before READY=1
		{"note w2 READY=1", ""},
		{"pass 1s", "kill -w2 SIGTERM; kill -w2 SIGCONT"},
		{"phase stopping", ""},
	},
	then: func(t *testing.T, m *machine) {
		if m.s.exitCode != 1 {
			t.Errorf("exit code %d, want 1", m.s.exitCode)
		}
		wantRestarts(t, m, map[string]uint64{RestartWatchdog: 1})
	},
}, {
	name: "a worker whose queue neither empties nor shrinks for --stuck-timeout is replaced",
	cfg:  Config{Workers: 1, ReadyOn: ReadyOnNotify, StuckTimeout: 2 * time.Second},
	sc: script{
		{"ready", ""},
		{"queue 0 5", ""},
		{"pass 1s", ""}, // samples once a second
		{"queue 0 4", ""},
		{"pass 1s", ""}, // it shrank: the worker accepts
		{"pass 1s", ""},
		{"pass 1s", "fork w2; kill -w1 SIGTERM; kill -w1 SIGCONT"},
	},
	then: func(t *testing.T, m *machine) {
		wantStuckReplaced(t, m)
	},
}, {
	name: "--max-worker-lifetime recycles one slot at a time through a roll's handover, and counts it as lifetime",
	cfg:  Config{Workers: 2, ReadyOn: ReadyOnNotify, MaxWorkerLifetime: 10 * time.Second},
	sc: script{
		{"ready", ""},
		{"pass 9s", ""},
		{"pass 2s", "add shard 2 fenced=true; steer away from [2]; fork w3"}, // 10–11 s: both are due, slot 0 goes first
		{"note w3 READY=1", "steer away from [0]"},
		{"pass 200ms", "kill -w1 SIGTERM; kill -w1 SIGCONT"},
		{"exit w1 0", "replace shard 0 by 2; unsteer; add shard 2 fenced=true; steer away from [2]; fork w4"},
		{"note w4 READY=1", "steer away from [1]"},
		{"pass 200ms", "kill -w2 SIGTERM; kill -w2 SIGCONT"},
		{"exit w2 0", "replace shard 1 by 2; unsteer"},
		{"pass 9s", ""}, // the successors' lifetimes began at their start
	},
	then: func(t *testing.T, m *machine) {
		m.wantCurrent("w3", "w4")
		wantRestarts(t, m, map[string]uint64{RestartLifetime: 2})
		if m.s.counters.Rolls != 0 || m.s.counters.RollDurations.Count != 0 {
			t.Errorf("%d rolls, %d roll durations: a recycle is not a rolling restart", m.s.counters.Rolls, m.s.counters.RollDurations.Count)
		}
	},
}, {
	name: "--max-worker-memory recycles the slot whose session's resident memory is above it, read once a second",
	cfg:  Config{Workers: 2, ReadyOn: ReadyOnNotify, MaxWorkerMemory: 1000},
	sc: script{
		{"ready", ""},
		{"resident w2 1000", ""},
		{"pass 1s", ""}, // at the limit is not above it
		{"resident w2 1001", ""},
		{"pass 500ms", ""}, // not read again yet
		{"pass 500ms", "add shard 2 fenced=true; steer away from [2]; fork w3"},
		{"note w3 READY=1", "steer away from [1]"},
		{"pass 200ms", "kill -w2 SIGTERM; kill -w2 SIGCONT"},
		{"exit w2 0", "replace shard 1 by 2; unsteer"},
		{"pass 1s", ""}, // its successor holds nothing yet
	},
	then: func(t *testing.T, m *machine) {
		m.wantCurrent("w1", "w3")
		wantRestarts(t, m, map[string]uint64{RestartMemory: 1})
	},
}, {
	name: "the pool follows the CPU limit: 1 -> 2 -> 1 slots, one at a time through the scale path, read once a second",
	cfg: Config{Workers: 1, MaxWorkers: 4, ReadyOn: ReadyOnNotify, GOMAXPROCS: 1,
		CPU: CPUShare{Limit: 1, Cpuset: 4, Workers: 1, GOMAXPROCS: 1}, FollowEvery: time.Second},
	sc: script{
		{"ready", ""},
		{"cpu 2 2 1", ""},
		{"pass 500ms", ""}, // not read yet
		{"pass 500ms", "add shard 1 fenced=false; fork w2"},
		{"note w2 READY=1", ""},
		{"pass 1s", ""}, // the same limit: nothing to do
		{"cpu 1 1 1", ""},
		{"pass 1s", "steer away from [1]"},
		{"pass 0s", ""}, // its queue is seen empty
		{"pass 200ms", "kill -w2 SIGTERM; kill -w2 SIGCONT"},
		{"exit w2 SIGTERM", "close shard 1; unsteer"},
		{"pass 1s", ""},
	},
	then: func(t *testing.T, m *machine) {
		m.wantCurrent("w1")
		if c := m.s.counters; c.CPULimitChanges != 2 || c.ScaleUps != 1 || c.ScaleDowns != 1 {
			t.Errorf("%d limit changes, %d scale-ups, %d scale-downs; want 2, 1, 1", c.CPULimitChanges, c.ScaleUps, c.ScaleDowns)
		}
		wantRestarts(t, m, nil)
	},
}, {
	name: "a limit that changes each worker's GOMAXPROCS rolls the workers that have the old one, once the pool has its size",
	cfg: Config{Workers: 1, MaxWorkers: 4, ReadyOn: ReadyOnNotify, GOMAXPROCS: 1,
		CPU: CPUShare{Limit: 1, Cpuset: 4, Workers: 1, GOMAXPROCS: 1}, FollowEvery: time.Second},
	sc: script{
		{"ready", ""},
		{"cpu 4 2 2", ""},
		{"pass 1s", "add shard 1 fenced=false; fork w2"},
		{"note w2 READY=1", "add shard 2 fenced=true; steer away from [2]; fork w3"},
		{"note w3 READY=1", "steer away from [0]"},
		{"pass 200ms", "kill -w1 SIGTERM; kill -w1 SIGCONT"},
		{"exit w1 0", "replace shard 0 by 2; unsteer"},
	},
	then: func(t *testing.T, m *machine) {
		m.wantCurrent("w3", "w2")
		if g := m.worker("w3").gomaxprocs; g != 2 {
			t.Errorf("the rolled worker has GOMAXPROCS %d, want 2", g)
		}
		wantRestarts(t, m, map[string]uint64{RestartScale: 1})
	},
}, {
	name: "a worker stopped by a signal for --stuck-timeout is stuck though its queue is empty (its clients keep their connections), and is replaced",
	cfg:  Config{Workers: 1, ReadyOn: ReadyOnNotify, StuckTimeout: 2 * time.Second},
	sc: script{
		{"ready", ""},
		{"halt w1", ""},
		{"pass 1s", ""}, // first seen stopped
		{"resume w1", ""},
		{"pass 1s", ""}, // running again: the clock starts over
		{"halt w1", ""},
		{"pass 1s", ""},
		{"pass 1s", ""},
		{"pass 1s", "fork w2; kill -w1 SIGTERM; kill -w1 SIGCONT"},
	},
	then: func(t *testing.T, m *machine) {
		wantStuckReplaced(t, m)
		if !strings.Contains(m.log.String(), "worker stuck: it is stopped (SIGSTOP)") {
			t.Errorf("the log does not say the worker is stopped")
		}
	},
}, {
	name: "a scale-down steers away from the last shard, stops its worker once its queue stayed empty, closes it, then unsteers",
	cfg:  Config{Workers: 2, MaxWorkers: 2, ReadyOn: ReadyOnNotify},
	sc: script{
		{"ready", ""},
		{"queue 1 2", ""},
		{"signal SIGTTOU", "steer away from [1]"},
		{"pass 1s", ""},
		{"queue 1 0", ""},
		{"pass 0s", ""},
		{"pass 199ms", ""},
		{"pass 1ms", "kill -w2 SIGTERM; kill -w2 SIGCONT"},
		{"exit w2 SIGTERM", "close shard 1; unsteer"},
		{"signal SIGTTIN", "add shard 1 fenced=false; fork w3"},
	},
	then: func(t *testing.T, m *machine) {
		m.wantCurrent("w1", "w3")
		if m.s.counters.ScaleDowns != 1 || m.s.counters.ScaleUps != 1 {
			t.Errorf("%d scale-downs, %d scale-ups; want 1, 1", m.s.counters.ScaleDowns, m.s.counters.ScaleUps)
		}
	},
}, {
	name: "a stop drains for --drain-delay, signals, and kills what remains after --stop-timeout, once a second",
	cfg:  Config{Workers: 1, ReadyOn: ReadyOnNotify, DrainDelay: 2 * time.Second, StopTimeout: 5 * time.Second},
	sc: script{
		{"ready", ""},
		{"signal SIGTERM", ""},
		{"phase draining", ""},
		{"pass 1999ms", ""},
		{"pass 1ms", "kill -w1 SIGTERM; kill -w1 SIGCONT"},
		{"phase stopping", ""},
		{"pass 4999ms", ""},
		{"pass 1ms", "kill -w1 SIGKILL"},
		{"phase killing", ""},
		{"pass 999ms", ""},
		{"pass 1ms", "kill -w1 SIGKILL"},
		{"exit w1 SIGKILL", ""},
	},
	then: func(t *testing.T, m *machine) {
		if !m.s.finished(m.now) {
			t.Error("not finished once the worker was gone")
		}
	},
}, {
	name: "a second stop signal cuts the drain short; a third is passed on",
	cfg:  Config{Workers: 1, ReadyOn: ReadyOnNotify, DrainDelay: time.Minute},
	sc: script{
		{"ready", ""},
		{"signal SIGTERM", ""},
		{"signal SIGTERM", "kill -w1 SIGTERM; kill -w1 SIGCONT"},
		{"signal SIGINT", "kill -w1 SIGINT"},
		{"exit w1 0", ""},
	},
	then: func(t *testing.T, m *machine) {
		if !m.s.finished(m.now) || m.s.exitCode != 0 {
			t.Errorf("finished %t, exit code %d; want true, 0", m.s.finished(m.now), m.s.exitCode)
		}
	},
}}

func TestSupervisor(t *testing.T) {
	for _, c := range supervisorCases {
		t.Run(c.name, func(t *testing.T) {
			m := newMachine(t, c.cfg)
			m.run(c.sc)
			if c.then != nil {
				c.then(t, m)
			}
		})
	}
}

// wantCurrent checks the slots' current workers, by name.
func (m *machine) wantCurrent(names ...string) {
	m.t.Helper()
	var got []string
	for _, sl := range m.s.slots {
		name := "none"
		if sl.current != nil {
			name = m.name(sl.current.pid)
		}
		got = append(got, name)
	}
	if len(got) != len(names) || strings.Join(got, " ") != strings.Join(names, " ") {
		m.t.Errorf("current workers %v, want %v", got, names)
	}
}

// wantRestarts checks the restarts counted, by reason: a deploy's roll
// must not look like a crash loop, nor a crash like a roll.
func wantRestarts(t *testing.T, m *machine, want map[string]uint64) {
	t.Helper()
	for _, reason := range RestartReasons {
		if got := m.s.counters.Restarts[reason]; got != want[reason] {
			t.Errorf("%d restarts for %s, want %d (all: %v)", got, reason, want[reason], m.s.counters.Restarts)
		}
	}
}

// wantStuckReplaced checks that one worker was found stuck and replaced.
func wantStuckReplaced(t *testing.T, m *machine) {
	t.Helper()
	if m.s.counters.StuckWorkers != 1 {
		t.Errorf("%d stuck workers counted, want 1", m.s.counters.StuckWorkers)
	}
	wantRestarts(t, m, map[string]uint64{RestartStuck: 1})
}
