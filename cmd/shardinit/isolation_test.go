package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shardinit/shardinit/internal/testworker"
	"golang.org/x/sys/unix"
)

// These tests try what one worker's processes can do to shardinit's view
// of another worker, and what a worker leaves behind.

// rollUntil sends the restart signal rolls times and waits after each
// for every slot to have a ready worker of the next generation.
func rollUntil(t *testing.T, in *instance, p probe, n, rolls int) {
	t.Helper()
	for roll := 1; roll <= rolls; roll++ {
		in.signal(syscall.SIGHUP)
		eventually(t, 30*time.Second, fmt.Sprintf("roll %d of %d slots", roll, n), func() bool {
			r := p.status()
			ready := 0
			for _, sl := range r.Slots {
				if sl.Generation == roll+1 && sl.State == "ready" && sl.Successor == 0 {
					ready++
				}
			}
			return ready == n && !r.Rolling
		})
	}
}

// A READY=1 sent by a process that exits at once (systemd-notify, a shell
// helper) counts for the worker whose socket it reached: 200 such workers,
// 0 lost.
func TestShortLivedReadySenders(t *testing.T) {
	t.Parallel()
	bin := os.Args[0]
	senders := map[string]string{"a Go sender": bin + " worker send-ready"}
	if path, err := exec.LookPath("systemd-notify"); err == nil {
		senders["systemd-notify"] = path + " --ready"
	}
	// One sender after the other, 5 slots at a time: 200 workers rolled at
	// once would starve the tests that run beside this one on 2 cores.
	for name, send := range senders {
		t.Run(name, func(t *testing.T) {
			const n, rolls = 5, 39 // 200 workers
			p := newProbe(t)
			port := freePort(t)
			in := startShardinit(t, start{}, append(p.flag(), "--workers", strconv.Itoa(n), "--listen", listenArg("http", port),
				"--restart-surge", strconv.Itoa(n), "--ready-on", "notify", "--ready-timeout", "10s",
				// READY=1 comes before the exec: a successor may still be
				// the shell when the SIGTERM comes.
				"--success-exit-codes", "143",
				"--", "sh", "-c", send+" && exec "+bin+" worker http")...)
			p.waitCode("/readyz", http.StatusOK)
			rollUntil(t, in, p, n, rolls)
			if got := sample(p.metrics()["shardinit_roll_failures_total"]); got != 0 {
				t.Errorf("shardinit_roll_failures_total = %v, want 0", got)
			}
			in.stopCleanly()
		})
	}
}

// notifySocketOf reads a worker's NOTIFY_SOCKET from its environment.
func notifySocketOf(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("NOTIFY_SOCKET=")); ok {
			return string(v)
		}
	}
	t.Fatalf("worker %d has no NOTIFY_SOCKET", pid)
	return ""
}

// A process of one worker, even one that learned another worker's notify
// socket, can neither join that worker's process group nor change its
// state with STOPPING=1 or WATCHDOG=trigger.
func TestNotifyCannotCrossWorkers(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, port := startPool(t, start{}, 2, append(p.flag(), "--ready-on", "start", "--watchdog", "30s"), "forge")
	p.waitCode("/readyz", http.StatusOK)
	pids := slotPIDs(t, port, 2)
	victim := pids[0]
	sock := notifySocketOf(t, victim)
	var report string
	eventually(t, 10*time.Second, "slot 1 to run the forger", func() bool {
		body, err := get(fmt.Sprintf("http://127.0.0.1:%d/forge?pgid=%d&sock=%s&victim=%d", port, victim, sock, victim))
		report = body
		return err == nil && !strings.Contains(body, "self")
	})
	if !strings.Contains(report, "setpgid: operation not permitted") {
		t.Errorf("the forger's report:\n%s\nwant setpgid to fail: the workers must not share a session", report)
	}
	eventually(t, 10*time.Second, "two notify messages refused", func() bool {
		return sample(p.metrics()["shardinit_notify_rejected_total"]) == 2
	})
	r := p.status()
	if sl := r.Slots[0]; sl.PID != victim || sl.State != "ready" {
		t.Errorf("slot 0 is %s with pid %d, want ready with pid %d: another worker's process changed it", sl.State, sl.PID, victim)
	}
	in.stopCleanly()
}

// A forwarded signal waits until the worker is ready: one that has not yet
// installed its handler is not killed by it.
func TestForwardedSignalWaitsForReady(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := freePort(t)
	in := startShardinit(t, start{}, append([]string{"--workers", "2", "--listen", listenArg("http", port), "--health-addr", "",
		"--ready-on", "notify", "--log-level", "debug", "--"}, worker("late-usr1", dir)...)...)
	pids := waitWorkers(t, in, 2, "late-usr1")
	for _, pid := range pids {
		// Past the Go runtime's start (it catches SIGURG), with SIGUSR1
		// put back to its default.
		eventually(t, 10*time.Second, "the worker to leave SIGUSR1 to its default action", func() bool {
			cgt, err := strconv.ParseUint(procField(pid, "SigCgt"), 16, 64)
			return err == nil && cgt&(1<<(syscall.SIGURG-1)) != 0 && cgt&(1<<(syscall.SIGUSR1-1)) == 0
		})
	}
	in.signal(syscall.SIGUSR1)
	eventually(t, 10*time.Second, "the SIGUSR1 to be held for both workers", func() bool {
		return strings.Count(in.log.String(), `msg="signal held until the worker is ready" signal=SIGUSR1`) == 2
	})
	for _, pid := range pids {
		makeReady(t, dir, pid)
	}
	waitServing(t, in, port)
	eachWorker(t, port, 2, "count one SIGUSR1", func(i testworker.Info) bool { return i.USR1 == 1 })
	if now := waitWorkers(t, in, 2, "late-usr1"); !slices.Equal(sorted(now), sorted(pids)) {
		t.Errorf("workers %v became %v: the signal killed one", pids, now)
	}
	in.stopCleanly()
}

// A worker that exits leaves nothing that still accepts: its child, which
// kept the shard socket and ignores SIGTERM, is reported while it lives and
// killed after --stop-timeout.
func TestWorkerLeftoversAreStopped(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, port := startPool(t, start{}, 1, append(p.flag(), "--stop-timeout", "2s"), "leave-child")
	body, _ := get(fmt.Sprintf("http://127.0.0.1:%d/crash", port))
	holder, err := strconv.Atoi(strings.TrimSpace(body))
	if err != nil {
		t.Fatalf("GET /crash: %q", body)
	}
	eventually(t, 10*time.Second, "the leftover to be reported", func() bool {
		r := p.status()
		return len(r.Slots) == 1 && slices.Contains(r.Slots[0].Leftovers, holder)
	})
	eventually(t, 15*time.Second, "the leftover to be killed", func() bool {
		st := procState(holder)
		return st == "" || st == "Z"
	})
	eventually(t, 5*time.Second, "shardinit_leftover_processes to be 0", func() bool {
		return sample(p.metrics()["shardinit_leftover_processes"]) == 0
	})
	quick := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 40 {
		resp, err := quick.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			t.Fatalf("request %d of 40: %v", i, err)
		}
		resp.Body.Close()
	}
	in.stopCleanly()
}

// Watchdog replacements count against --max-restarts like crashes.
func TestWatchdogCountsAgainstMaxRestarts(t *testing.T) {
	t.Parallel()
	in := startShardinit(t, start{}, append([]string{"--workers", "1", "--listen", listenArg("http", freePort(t)), "--health-addr", "",
		"--watchdog", "1s", "--max-restarts", "2", "--"}, worker("http")...)...)
	if code := in.wait(30 * time.Second); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if log := in.log.String(); strings.Count(log, "no WATCHDOG=1 within 1s") != 3 || !strings.Contains(log, "crash loop: giving up") {
		t.Errorf("want three watchdog replacements, then giving up; log:\n%s", log)
	}
}

// On a terminal (docker run -it), the worker's process group is the
// terminal's foreground group: it can read its input.
func TestPID1WorkerOwnsTerminal(t *testing.T) {
	t.Parallel()
	in, master := startOnTerminal(t, append([]string{"--workers", "1", "--health-addr", "", "--restart", "never", "--"}, worker("read-tty")...)...)
	pid := waitWorkers(t, in, 1, "read-tty")[0]
	eventually(t, 10*time.Second, "the worker's group to be the terminal's foreground group", func() bool {
		fg, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPGRP)
		return err == nil && fg == pid
	})
	if _, err := master.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	if code := in.wait(15 * time.Second); code != 42 {
		t.Errorf("exit code %d, want 42 (the worker read its line)", code)
	}
}

func sorted(pids []int) []int {
	s := slices.Clone(pids)
	slices.Sort(s)
	return s
}

// --notify-dir gives each worker a socket file, for sd_notify clients that
// take NOTIFY_SOCKET as a path (Ruby's sd_notify gem reads "@…" as one);
// the files go with shardinit.
func TestNotifyDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := newProbe(t)
	port := freePort(t)
	in := startShardinit(t, start{}, append(append(p.flag(), "--workers", "2", "--listen", listenArg("http", port),
		"--ready-on", "notify", "--notify-dir", dir, "--"), "sh", "-c", os.Args[0]+" worker send-ready && exec "+os.Args[0]+" worker http")...)
	p.waitCode("/readyz", http.StatusOK)
	for _, pid := range slotPIDs(t, port, 2) {
		sock := notifySocketOf(t, pid)
		fi, err := os.Stat(sock)
		if !strings.HasPrefix(sock, dir+"/shardinit-") || err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
			t.Errorf("worker %d: NOTIFY_SOCKET=%s (%v, %v), want a socket file of mode 0600 under %s", pid, sock, fi.Mode(), err, dir)
		}
	}
	in.stopCleanly()
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("%s still holds %v after shardinit exited", dir, left)
	}
}

func TestWatchdogMinimum(t *testing.T) {
	t.Parallel()
	in := startShardinit(t, start{}, append([]string{"--watchdog", "1ms", "--health-addr", "", "--"}, worker("http")...)...)
	if code := in.wait(10 * time.Second); code != 2 || !strings.Contains(in.log.String(), "watchdog 1ms: below the minimum 100ms") {
		t.Errorf("--watchdog 1ms: exit %d, %q; want 2 and the minimum named", code, in.log.String())
	}
}
