package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shardinit/shardinit/internal/procstat"
)

// pidsMax is the pids limit around shardinit in the pids tests: room for
// shardinit's threads and two workers' (race-built test binaries, which
// make theirs up front too, so that only shardinit is tried), and for
// slot 0's children, which take the rest.
const pidsMax = 100

// With a pod's pids limit reached by a worker that forks until the kernel
// refuses (EAGAIN), whatever wakes shardinit next must not kill it: it
// needs no new OS thread after start-up. Each waker is tried in a pool of
// its own, as PID 1 in a pids cgroup; every pool then stops on SIGTERM,
// drains and exits with its workers' code.
func TestPidsLimitKeepsPID1(t *testing.T) {
	t.Parallel()
	wakers := map[string]func(t *testing.T, in *instance, p probe){
		"probes": func(t *testing.T, in *instance, p probe) {
			var wg sync.WaitGroup
			for i := range 64 {
				path := []string{"/livez", "/readyz", "/status", "/metrics"}[i%4]
				wg.Go(func() { p.code(path) })
			}
			wg.Wait()
			if code, body := p.code("/livez"); code != http.StatusOK {
				t.Errorf("/livez after 64 probes at once: %d %s", code, body)
			}
		},
		"forwarded signal": func(t *testing.T, in *instance, p probe) {
			in.signal(syscall.SIGUSR1)
			eventually(t, 10*time.Second, "SIGUSR1 counted", func() bool {
				return sample(p.metrics()["shardinit_signals_received_total"], "signal", "SIGUSR1") == 1
			})
		},
		"SIGTERM": func(*testing.T, *instance, probe) {},
	}
	for name, wake := range wakers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newProbe(t)
			in, _ := atPidsLimit(t, p.flag())
			wake(t, in, p)
			if in.exited() {
				t.Fatalf("shardinit exited with %d after %s at the pids limit", in.wait(0), name)
			}
			in.signal(syscall.SIGTERM)
			if code := in.wait(20 * time.Second); code != 0 {
				t.Errorf("exit code %d after SIGTERM at the pids limit, want 0 (the workers')", code)
			}
			if log := in.log.String(); strings.Contains(log, "fatal error") {
				t.Errorf("the Go runtime failed:\n%s", log)
			}
		})
	}
}

// atPidsLimit starts two fork-bomb workers under shardinit as PID 1 in a
// pids cgroup of pidsMax, has slot 0's fork until the kernel refuses, and
// returns once the cgroup is full.
func atPidsLimit(t *testing.T, flags []string) (*instance, string) {
	t.Helper()
	dir := pidsCgroup(t, pidsMax)
	in, _ := startPool(t, start{pid1: true, launch: []string{"launch-in-cgroup", dir}}, 2, flags, "fork-bomb")
	in.signal(syscall.SIGUSR2)
	eventually(t, 20*time.Second, fmt.Sprintf("the pids limit of %d reached", pidsMax), func() bool {
		return pidsCurrent(t, dir) >= pidsMax
	})
	return in, dir
}

// pidsCgroup makes a pids cgroup of at most max tasks (v1 where the
// machine mounts it, else v2), removed when the test ends.
func pidsCgroup(t *testing.T, max int) string {
	t.Helper()
	root := "/sys/fs/cgroup/pids"
	if _, err := os.Stat(root); err != nil {
		root = "/sys/fs/cgroup" // v2: the root's children may have the pids controller
	}
	dir := filepath.Join(root, fmt.Sprintf("shardinit-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-")))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot make a pids cgroup here: %v", err)
	}
	t.Cleanup(func() {
		eventually(t, 10*time.Second, "the pids cgroup to empty", func() bool { return pidsCurrent(t, dir) == 0 })
		os.Remove(dir)
	})
	if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.Itoa(max)), 0o644); err != nil {
		t.Skipf("no pids controller here: %v", err)
	}
	return dir
}

func pidsCurrent(t *testing.T, dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "pids.current"))
	if err != nil {
		t.Fatalf("read pids.current: %v", err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// A worker that cannot be forked (EAGAIN) is a failed start: it backs off
// and spends the slot's restart budget like a crash, and once that is gone
// the pool stops with exit 1. shardinit itself never fails.
func TestForkRefusedIsFailedStart(t *testing.T) {
	t.Parallel()
	in, dir := atPidsLimit(t, []string{"--max-restarts", "2"})
	// Far below what is in use: no fork in the cgroup succeeds from now on.
	if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte("10"), 0o644); err != nil {
		t.Fatal(err)
	}
	victim := childWith(t, in.cmd.Process.Pid, "fork-bomb")
	syscall.Kill(victim, syscall.SIGKILL)
	if code := in.wait(30 * time.Second); code != 1 {
		t.Errorf("exit code %d, want 1 once the slot's budget is spent", code)
	}
	log := in.log.String()
	for _, want := range []string{"resource temporarily unavailable", "restart backs off", "crash loop: giving up"} {
		if !strings.Contains(log, want) {
			t.Errorf("log has no %q", want)
		}
	}
	if strings.Contains(log, "fatal error") {
		t.Errorf("the Go runtime failed")
	}
}

// childWith is the host PID of a child of parent whose command line holds
// token.
func childWith(t *testing.T, parent int, token string) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		b, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		s, _ := procstat.Parse(b)
		if ppid, err := s.PPID(); err == nil && ppid == parent && strings.Contains(string(cmdline), token) {
			return pid
		}
	}
	t.Fatalf("no child of %d runs %q", parent, token)
	return 0
}
