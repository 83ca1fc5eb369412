package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shardinit/shardinit/pkg/health"
)

// readyWatch asks /readyz again and again until finished, and counts the
// answers that were not 200.
type readyWatch struct {
	asked, bad atomic.Int64
	stop       chan struct{}
	done       sync.WaitGroup
}

func watchReady(t *testing.T, p probe) *readyWatch {
	w := &readyWatch{stop: make(chan struct{})}
	w.done.Go(func() {
		for {
			select {
			case <-w.stop:
				return
			default:
			}
			if code, _ := p.code("/readyz"); code != http.StatusOK {
				w.bad.Add(1)
			}
			w.asked.Add(1)
		}
	})
	t.Cleanup(w.finish)
	return w
}

func (w *readyWatch) finish() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.done.Wait()
}

// traffic is load on the pool and a watch on its /readyz, for as long as
// a test changes the pool under it.
type traffic struct {
	load  *load
	ready *readyWatch
}

func startTraffic(t *testing.T, p probe, port, conns int) traffic {
	return traffic{startLoad(t, port, conns, 2*time.Minute), watchReady(t, p)}
}

// stop ends both, and fails the test if a request failed, none was
// answered, or /readyz was ever not 200.
func (tr traffic) stop(t *testing.T, during string) {
	t.Helper()
	tr.load.finish()
	tr.ready.finish()
	t.Logf("%s: %s; /readyz not 200 %d of %d times", during, tr.load, tr.ready.bad.Load(), tr.ready.asked.Load())
	if tr.load.failed.Load() > 0 || tr.load.ok.Load() == 0 {
		t.Errorf("load %s: %s, want none failed", during, tr.load)
	}
	if tr.ready.bad.Load() > 0 {
		t.Errorf("/readyz was not 200 %d of %d times %s", tr.ready.bad.Load(), tr.ready.asked.Load(), during)
	}
}

// stopNewConnections is stop for a server that closes idle keep-alive
// connections as it stops: a request sent on one just then fails by the
// server's own race, which is logged but not failed.
func (tr traffic) stopNewConnections(t *testing.T, during string) {
	t.Helper()
	tr.load.finish()
	tr.ready.finish()
	l := tr.load
	t.Logf("%s: %s; /readyz not 200 %d of %d times", during, l, tr.ready.bad.Load(), tr.ready.asked.Load())
	if newFailed := l.failed.Load() - l.reusedFailed.Load(); newFailed > 0 || l.ok.Load() == 0 {
		t.Errorf("%d requests on new connections failed %s, want none: %s", newFailed, during, l)
	}
	if tr.ready.bad.Load() > 0 {
		t.Errorf("/readyz was not 200 %d of %d times %s", tr.ready.bad.Load(), tr.ready.asked.Load(), during)
	}
}

// rollTimes sends SIGHUP n times, each once the last roll has replaced
// every worker, and says how long that took.
func rollTimes(t *testing.T, in *instance, p probe, n int, each time.Duration) time.Duration {
	t.Helper()
	began := time.Now()
	for i := range n {
		before := slotsOf(p.status())
		in.signal(syscall.SIGHUP)
		eventually(t, each, fmt.Sprintf("roll %d to replace all %d workers", i+1, len(before)), func() bool {
			return settled(p.status(), before)
		})
	}
	return time.Since(began).Round(time.Millisecond)
}

// settled reports whether /status shows no roll, no successor and no
// worker still stopping, with every slot's PID different from before.
func settled(r health.Report, before map[int]int) bool {
	if r.Rolling {
		return false
	}
	for _, sl := range r.Slots {
		if sl.PID == 0 || sl.PID == before[sl.Slot] || sl.Successor != 0 || len(sl.Retiring) > 0 {
			return false
		}
	}
	return true
}

func slotsOf(r health.Report) map[int]int {
	m := map[int]int{}
	for _, sl := range r.Slots {
		m[sl.Slot] = sl.PID
	}
	return m
}

// SIGHUP rolls every worker under continuous load, with and without
// keep-alive, without a failed request, and /readyz stays 200; ten times.
func TestRollingRestartUnderLoad(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, port := startPool(t, start{}, 4, p.flag(), "http")
	p.waitCode("/readyz", http.StatusOK)
	tr := startTraffic(t, p, port, 4)
	took := rollTimes(t, in, p, 10, 30*time.Second)
	tr.stop(t, fmt.Sprintf("during 10 rolls of 4 workers (%s)", took))
	if rolls := sample(p.metrics()["shardinit_rolls_total"]); rolls != 10 {
		t.Errorf("shardinit_rolls_total = %v, want 10", rolls)
	}
	in.stopCleanly()
}

// A server written only against go-systemd (activation.Listeners,
// daemon.SdNotify) that stops with http.Server.Shutdown alone closes,
// unanswered, a connection it accepted after its stop began. A roll must
// therefore stop a worker only once no new connection can reach it: ten
// rolls under load fail no request on a new connection. (A keep-alive
// connection that Shutdown closes while idle, as a request goes out on it,
// is the server's own race: counted apart, not failed.)
func TestRollGoSystemdShutdown(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, port := startPool(t, start{}, 4, append(p.flag(), "--ready-on", "notify"), "go-systemd")
	p.waitCode("/readyz", http.StatusOK)
	tr := startTraffic(t, p, port, 4)
	took := rollTimes(t, in, p, 10, 30*time.Second)
	tr.stopNewConnections(t, fmt.Sprintf("during 10 rolls of 4 go-systemd workers (%s)", took))
	// Each roll went onto fresh shards, and each predecessor's closed.
	if n := len(listenSockets(t, port)); n != 4 {
		t.Errorf("%d listening sockets after the rolls, want 4", n)
	}
	if !strings.Contains(in.log.String(), "the predecessor serves out its own queue") {
		t.Errorf("the log does not show a handover onto a fresh shard")
	}
	in.stopCleanly()
}

// startNotifyPool starts n workers that are ready only once told (a file
// in dir, see makeReady), and tells them.
func startNotifyPool(t *testing.T, p probe, dir string, n int, flags ...string) (*instance, int) {
	t.Helper()
	in, port := startPool(t, start{}, n, append(append(p.flag(), "--ready-on", "notify"), flags...), "notify", dir)
	for _, pid := range waitWorkers(t, in, n, "notify") {
		makeReady(t, dir, pid)
	}
	p.waitCode("/readyz", http.StatusOK)
	return in, port
}

// A successor that never becomes ready aborts the roll: the old workers
// keep serving, and no request fails.
func TestRollAbortsWhenSuccessorNeverReady(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, port := startNotifyPool(t, p, t.TempDir(), 2, "--ready-timeout", "1s")
	before := slotsOf(p.status())
	tr := startTraffic(t, p, port, 2)
	in.signal(syscall.SIGHUP)
	eventually(t, 15*time.Second, "the roll to fail and end", func() bool {
		r := p.status()
		return sample(p.metrics()["shardinit_roll_failures_total"]) == 1 && !r.Rolling && r.Slots[0].Successor == 0
	})
	// Its shard closes once it has exited; until then new connections
	// must not be handed to it.
	eventually(t, 15*time.Second, "the successor's shard to close", func() bool {
		return len(listenSockets(t, port)) == 2
	})
	tr.stop(t, "during the failed roll and the successor's stop")
	if after := slotsOf(p.status()); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("workers changed from %v to %v, want the old ones kept", before, after)
	}
	if !strings.Contains(in.log.String(), "rolling restart aborted") {
		t.Errorf("the log does not say the roll was aborted")
	}
	in.stopCleanly()
}

// A second SIGHUP during a roll starts it over, and never gives a slot two
// successors.
func TestSecondRestartDuringRoll(t *testing.T) {
	t.Parallel()
	p, dir := newProbe(t), t.TempDir()
	in, _ := startNotifyPool(t, p, dir, 2)
	before := slotsOf(p.status())
	successorOf := func(slot int) (pid int) {
		eventually(t, 10*time.Second, fmt.Sprintf("a successor in slot %d", slot), func() bool {
			pid = p.status().Slots[slot].Successor
			return pid != 0
		})
		return pid
	}
	in.signal(syscall.SIGHUP)
	first := successorOf(0)
	in.signal(syscall.SIGHUP)
	eventually(t, 10*time.Second, "the roll to start over", func() bool {
		return strings.Contains(in.log.String(), "rolling restart starts over")
	})
	r := p.status()
	if r.Slots[0].Successor != first || r.Slots[1].Successor != 0 {
		t.Errorf("after the second SIGHUP: successors %d and %d, want %d and none", r.Slots[0].Successor, r.Slots[1].Successor, first)
	}
	if n := len(childrenOf(in.cmd.Process.Pid)); n != 3 {
		t.Errorf("shardinit has %d children, want 3 (2 workers, 1 successor)", n)
	}
	makeReady(t, dir, first)
	makeReady(t, dir, successorOf(1))
	eventually(t, 15*time.Second, "both slots rolled", func() bool { return settled(p.status(), before) })
	if fails := sample(p.metrics()["shardinit_roll_failures_total"]); fails != 0 {
		t.Errorf("shardinit_roll_failures_total = %v, want 0", fails)
	}
	in.stopCleanly()
}
