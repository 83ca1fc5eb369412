package main

import (
	"fmt"
	"maps"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// SIGTTIN adds a slot whose worker takes its share of new connections;
// SIGTTOU removes it again without failing a request or losing a
// connection queued on its shard; readiness holds throughout.
func TestScaleUpAndDownUnderLoad(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, port := startPool(t, start{}, 4, append(p.flag(), "--max-workers", "5"), "http")
	p.waitCode("/readyz", http.StatusOK)
	tr := startTraffic(t, p, port, 4)

	in.signal(syscall.SIGTTIN)
	eventually(t, 15*time.Second, "a 5th slot with its own shard", func() bool {
		r := p.status()
		return len(r.Slots) == 5 && r.Slots[4].PID != 0 && len(listenSockets(t, port)) == 5
	})
	slotPIDs(t, port, 5) // every slot, the new one too, answers new connections

	in.signal(syscall.SIGTTOU)
	eventually(t, 15*time.Second, "back to 4 slots and 4 shards", func() bool {
		return len(p.status().Slots) == 4 && len(listenSockets(t, port)) == 4
	})
	slotPIDs(t, port, 4)
	tr.stop(t, "while scaling 4 -> 5 -> 4")
	m := p.metrics()
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"shardinit_scale_events_total", []string{"direction", "up"}, 1},
		{"shardinit_scale_events_total", []string{"direction", "down"}, 1},
		{"shardinit_lost_connections_total", nil, 0},
	} {
		if got := sample(m[c.name], c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	in.stopCleanly()
}

// lowestFreeFDs are the n lowest fd numbers pid has not open: the ones
// its next n new fds get.
func lowestFreeFDs(t *testing.T, pid, n int) []int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	open := map[int]bool{}
	for _, e := range entries {
		fd, _ := strconv.Atoi(e.Name())
		open[fd] = true
	}
	var free []int
	for fd := 0; len(free) < n; fd++ {
		if !open[fd] {
			free = append(free, fd)
		}
	}
	return free
}

// limitFDs sets pid's RLIMIT_NOFILE so that fd number below is the lowest
// it may not open, and returns a function that puts the old limit back.
func limitFDs(t *testing.T, pid, below int) (restore func()) {
	t.Helper()
	var old unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &old); err != nil {
		t.Fatal(err)
	}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: uint64(below), Max: old.Max}, nil); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &old, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// A scale-up whose new shard cannot be bound (socket: EMFILE) or whose
// first worker cannot be started (the notify socket or the fork: EMFILE)
// is undone: the shard is closed, the slot dropped, the failure logged and
// counted, and the pool serves on as before, with no crash loop.
func TestScaleUpFailureUndone(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		room int // fds shardinit may still open: the shard's socket needs one
	}{{"shard", 0}, {"worker", 1}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := newProbe(t)
			in, port := startPool(t, start{}, 2, append(p.flag(), "--max-restarts", "2", "--max-workers", "3"), "http")
			p.waitCode("/readyz", http.StatusOK)
			before := slotsOf(p.status())
			pid := in.cmd.Process.Pid
			restore := limitFDs(t, pid, lowestFreeFDs(t, pid, c.room+1)[c.room])
			in.signal(syscall.SIGTTIN)
			eventually(t, 20*time.Second, "the scale-up to fail", func() bool {
				log := in.log.String()
				return in.exited() || strings.Contains(log, "scale-up failed") || strings.Contains(log, "crash loop")
			})
			restore()
			if in.exited() || strings.Contains(in.log.String(), "crash loop") {
				t.Fatalf("a failed scale-up ended the pool (exited: %v)", in.exited())
			}
			if after := slotsOf(p.status()); !maps.Equal(after, before) {
				t.Errorf("slot PIDs %v after the failed scale-up, want %v as before", after, before)
			}
			if n := len(listenSockets(t, port)); n != 2 {
				t.Errorf("%d shards after the failed scale-up, want 2", n)
			}
			slotPIDs(t, port, 2)
			m := p.metrics()
			if got := sample(m["shardinit_scale_failures_total"], "reason", "error"); got != 1 {
				t.Errorf("shardinit_scale_failures_total{reason=error} = %v, want 1", got)
			}
			if got := sample(m["shardinit_scale_events_total"], "direction", "up"); got != 0 {
				t.Errorf("shardinit_scale_events_total{direction=up} = %v, want 0", got)
			}
			// With the limit back, scaling up works.
			in.signal(syscall.SIGTTIN)
			eventually(t, 15*time.Second, "a 3rd slot", func() bool {
				r := p.status()
				return len(r.Slots) == 3 && r.Slots[2].PID != 0
			})
			slotPIDs(t, port, 3)
			in.stopCleanly()
		})
	}
}

// --max-workers bounds SIGTTIN: the scale-up beyond it is refused, logged
// and counted.
func TestScaleUpBoundedByMaxWorkers(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, port := startPool(t, start{}, 1, append(p.flag(), "--max-workers", "2"), "http")
	p.waitCode("/readyz", http.StatusOK)
	in.signal(syscall.SIGTTIN)
	eventually(t, 15*time.Second, "a 2nd slot", func() bool {
		r := p.status()
		return len(r.Slots) == 2 && r.Slots[1].PID != 0
	})
	in.signal(syscall.SIGTTIN)
	eventually(t, 15*time.Second, "the 3rd slot refused", func() bool {
		return strings.Contains(in.log.String(), "scale-up refused")
	})
	if n := len(p.status().Slots); n != 2 {
		t.Errorf("%d slots with --max-workers 2, want 2", n)
	}
	slotPIDs(t, port, 2)
	if got := sample(p.metrics()["shardinit_scale_failures_total"], "reason", "max-workers"); got != 1 {
		t.Errorf("shardinit_scale_failures_total{reason=max-workers} = %v, want 1", got)
	}
	in.stopCleanly()
}

// --max-workers below --workers, or negative, is bad input.
func TestMaxWorkersBadInput(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--workers", "3", "--max-workers", "2"}, "max-workers 2: fewer than the 3 workers"},
		{[]string{"--max-workers", "-1"}, "max-workers -1: must be 0"},
	} {
		args := append(append(c.args, "--health-addr", "", "--"), worker("http")...)
		for _, argv := range [][]string{args, append([]string{"check"}, args...)} {
			in := startShardinit(t, start{}, argv...)
			code, out := in.wait(10*time.Second), in.log.String()
			if code != 2 || strings.Count(out, "\n") != 1 || !strings.Contains(out, c.want) {
				t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line with %q", argv, code, out, c.want)
			}
		}
	}
}
