package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shardinit/shardinit/internal/testworker"
	"github.com/shardinit/shardinit/pkg/cpus"
)

func listenArg(name string, port int) string {
	return fmt.Sprintf("%s=127.0.0.1:%d", name, port)
}

// listenSockets returns the inodes of the LISTEN sockets on port in the
// calling thread's network namespace: /proc/net is the main thread's, which
// inNetns may have moved for a while.
func listenSockets(t *testing.T, port int) map[string]bool {
	t.Helper()
	inodes := map[string]bool{}
	for _, file := range []string{"/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 10 || fields[3] != "0A" {
				continue
			}
			_, hexPort, _ := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil && int(p) == port {
				inodes[fields[9]] = true
			}
		}
	}
	return inodes
}

// socketsHeld returns which of inodes the process pid holds.
func socketsHeld(pid int, inodes map[string]bool) map[string]bool {
	held := map[string]bool{}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); ok && inodes[strings.TrimSuffix(inode, "]")] {
			held[strings.TrimSuffix(inode, "]")] = true
		}
	}
	return held
}

// fetchInfo asks a worker, on a new connection, about itself.
func fetchInfo(t *testing.T, port int) testworker.Info {
	t.Helper()
	var info testworker.Info
	body, err := get(fmt.Sprintf("http://127.0.0.1:%d/info", port))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(body), &info); err != nil {
		t.Fatalf("decode /info: %v", err)
	}
	return info
}

// eachWorker waits until n distinct workers have answered /info with cond
// holding.
func eachWorker(t *testing.T, port, n int, what string, cond func(testworker.Info) bool) {
	t.Helper()
	ok := map[int]bool{}
	eventually(t, 10*time.Second, fmt.Sprintf("%d workers to %s", n, what), func() bool {
		if i := fetchInfo(t, port); cond(i) {
			ok[i.PID] = true
		}
		return len(ok) == n
	})
}

func TestRequestsSpreadAcrossWorkers(t *testing.T) {
	t.Parallel()
	in, port := startPool(t, start{}, 3, nil, "http")
	shards := listenSockets(t, port)
	if len(shards) != 3 {
		t.Errorf("got %d LISTEN sockets on port %d, want 3", len(shards), port)
	}
	pids := slotPIDs(t, port, 3)
	children := childrenOf(in.cmd.Process.Pid)
	distinct := map[int]bool{}
	for slot, pid := range pids {
		distinct[pid] = true
		if _, ok := children[pid]; !ok {
			t.Errorf("slot %d: pid %d is not a child of shardinit (children %v)", slot, pid, children)
		}
		if held := socketsHeld(pid, shards); len(held) != 1 {
			t.Errorf("slot %d: worker holds shard sockets %v, want exactly its own", slot, held)
		}
	}
	if len(distinct) != 3 {
		t.Errorf("got worker PIDs %v, want 3 distinct", pids)
	}
	in.stopCleanly()
}

// A server written against go-systemd's activation package runs unmodified.
func TestGoSystemdWorker(t *testing.T) {
	t.Parallel()
	in, _ := startPool(t, start{}, 2, nil, "systemd")
	in.stopCleanly()
}

// The worker contract of the design: fds 3.. in --listen order, the systemd
// and einhorn variables, the slot, GOMAXPROCS, its own process group, and
// no signal ignored or blocked even when shardinit itself was started so.
func TestWorkerContract(t *testing.T) {
	t.Parallel()
	web, admin := freePort(t), freePort(t)
	in := startShardinit(t, start{launch: []string{"launch-masked"}, env: []string{"SHARDINIT_LOG_LEVEL=debug"}},
		append([]string{"--workers", "2", "--listen", listenArg("web", web), "--listen", listenArg("admin", admin),
			"--health-addr", "", "--"}, worker("http")...)...)
	waitServing(t, in, web)
	slotPIDs(t, web, 2)
	info := fetchInfo(t, admin)
	budget, _ := cpus.Detect()
	want := map[string]string{
		"LISTEN_PID": strconv.Itoa(info.PID), "LISTEN_FDS": "2", "LISTEN_FDNAMES": "web:admin",
		"EINHORN_FD_COUNT": "2", "EINHORN_FD_0": "3", "EINHORN_FD_1": "4",
		"SHARDINIT_SLOTS": "2", "GOMAXPROCS": strconv.Itoa(budget.WorkerGOMAXPROCS(2)),
		// Not the --workers mirror, nor shardinit's own settings: a
		// shardinit run as a worker must start clean.
		"SHARDINIT_WORKERS": "", "SHARDINIT_LOG_LEVEL": "",
	}
	for k, v := range want {
		if got := info.Env[k]; got != v {
			t.Errorf("worker env %s=%q, want %q", k, got, v)
		}
	}
	if s := info.Env["SHARDINIT_SLOT"]; s != "0" && s != "1" {
		t.Errorf("SHARDINIT_SLOT=%q, want 0 or 1", s)
	}
	if info.PGID != info.PID {
		t.Errorf("worker pgid %d, want its own pid %d", info.PGID, info.PID)
	}
	if info.PPID != in.cmd.Process.Pid {
		t.Errorf("worker parent %d, want shardinit %d", info.PPID, in.cmd.Process.Pid)
	}
	if zero := "0000000000000000"; info.SigIgn != zero || info.SigBlk != zero {
		t.Errorf("worker SigIgn=%s SigBlk=%s, want none ignored or blocked", info.SigIgn, info.SigBlk)
	}
	// SIGTERM was blocked when shardinit started; it must still stop.
	in.stopCleanly()
}

// A SIGKILLed worker's slot is taken over at once, and connections that
// reach its shard after it died are served by the successor.
func TestKilledWorkerReplaced(t *testing.T) {
	t.Parallel()
	in, port := startPool(t, start{}, 3, nil, "http")
	victim := slotPIDs(t, port, 3)[1]
	killed := time.Now()
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the killed worker to die", func() bool {
		st, ok := childrenOf(in.cmd.Process.Pid)[victim]
		return !ok || st == "Z"
	})
	type answer struct {
		slot, pid int
		err       error
		at        time.Time
	}
	answers := make([]answer, 60)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			slot, pid, err := hello(port)
			answers[i] = answer{slot, pid, err, time.Now()}
		})
	}
	wg.Wait()
	first, served := time.Time{}, 0
	for i, a := range answers {
		switch {
		case a.err != nil:
			t.Errorf("connection %d: %v", i, a.err)
		case a.slot == 1 && a.pid == victim:
			t.Errorf("connection %d answered by the killed worker %d", i, victim)
		case a.slot == 1:
			served++
			if first.IsZero() || a.at.Before(first) {
				first = a.at
			}
		}
	}
	if served == 0 {
		t.Fatalf("none of %d connections reached slot 1's shard", len(answers))
	}
	t.Logf("%d connections to the dead worker's shard served by its successor; first answer %s after the kill",
		served, first.Sub(killed).Round(time.Millisecond))
}

// Orphans a worker leaves behind are reaped by shardinit, as PID 1 and as
// a subreaper.
func TestOrphansReaped(t *testing.T) {
	for _, pid1 := range []bool{false, true} {
		t.Run(fmt.Sprintf("pid1=%v", pid1), func(t *testing.T) {
			t.Parallel()
			port := freePort(t)
			in := startShardinit(t, start{pid1: pid1}, append([]string{"--workers", "1", "--listen", listenArg("http", port),
				"--health-addr", "", "--log-level", "debug", "--"}, worker("orphans", t.TempDir())...)...)
			waitServing(t, in, port)
			left := time.Now()
			eventually(t, 10*time.Second, "every orphan to be reaped", func() bool {
				return strings.Count(in.log.String(), "reaped orphan") == testworker.OrphanCount
			})
			kids := childrenOf(in.cmd.Process.Pid)
			if len(kids) != 1 {
				t.Errorf("shardinit has children %v, want only its worker", kids)
			}
			for pid, state := range kids {
				if state == "Z" {
					t.Errorf("zombie %d left", pid)
				}
			}
			t.Logf("%d orphans reaped within %s of the successor serving", testworker.OrphanCount, time.Since(left).Round(time.Millisecond))
		})
	}
}

func TestUnixListener(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "app.sock")
	// A socket file left by a process that is gone must not stop shardinit.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()

	in := startShardinit(t, start{}, append([]string{"--workers", "2", "--listen", "app=unix://" + path,
		"--health-addr", "", "--"}, worker("http")...)...)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}}
	// Both workers must have answered (and so handle SIGTERM) before the stop.
	slots := map[string]bool{}
	eventually(t, 15*time.Second, "both workers to answer on "+path, func() bool {
		resp, err := c.Get("http://app/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		slots[strings.Fields(string(body) + " ")[0]] = true
		return len(slots) == 2
	})
	in.stopCleanly()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket file still there after exit (stat: %v)", err)
	}
}

// A slot that crashes again and again ends shardinit with the worker's code
// once the budget is spent.
func TestCrashLoopGivesUp(t *testing.T) {
	t.Parallel()
	in := startShardinit(t, start{}, append([]string{"--workers", "1", "--max-restarts", "2",
		"--health-addr", "", "--"}, worker("exit", "3")...)...)
	if code := in.wait(30 * time.Second); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	if n := strings.Count(in.log.String(), "worker started"); n != 3 {
		t.Errorf("%d workers started, want 3 (the first and 2 restarts)", n)
	}
}

// With --restart never a worker's exit ends the pool; shardinit exits with
// the code of the first worker that failed.
func TestRestartNever(t *testing.T) {
	t.Parallel()
	// One worker for the clean case: a second one could still be starting
	// when the stop signal comes, and die of it (143).
	for workers, code := range map[int]int{1: 0, 2: 5} {
		in := startShardinit(t, start{}, append([]string{"--workers", strconv.Itoa(workers), "--restart", "never",
			"--health-addr", "", "--"}, worker("exit", strconv.Itoa(code))...)...)
		if got := in.wait(30 * time.Second); got != code {
			t.Errorf("workers exit %d: shardinit exit code %d, want %d", code, got, code)
		}
	}
}

// Workers die with shardinit even when it is killed outright.
func TestWorkersDieWithShardinit(t *testing.T) {
	t.Parallel()
	in, port := startPool(t, start{}, 2, nil, "http")
	pids := slotPIDs(t, port, 2)
	in.signal(syscall.SIGKILL)
	in.wait(10 * time.Second)
	for _, pid := range pids {
		eventually(t, 10*time.Second, fmt.Sprintf("worker %d to die", pid), func() bool {
			state := procState(pid)
			return state == "" || state == "Z"
		})
	}
}

// --sockets shared: one LISTEN socket, the same one in every worker.
func TestSharedSocket(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	in := startShardinit(t, start{}, append([]string{"--workers", "2", "--sockets", "shared",
		"--listen", listenArg("http", port), "--health-addr", "", "--"}, worker("http")...)...)
	waitServing(t, in, port)
	shared := listenSockets(t, port)
	if len(shared) != 1 {
		t.Fatalf("got %d LISTEN sockets, want 1", len(shared))
	}
	workers := childrenOf(in.cmd.Process.Pid)
	if len(workers) != 2 {
		t.Fatalf("shardinit has children %v, want 2 workers", workers)
	}
	for pid := range workers {
		eventually(t, 10*time.Second, fmt.Sprintf("worker %d to hold the shared socket", pid), func() bool {
			return len(socketsHeld(pid, shared)) == 1
		})
	}
}
