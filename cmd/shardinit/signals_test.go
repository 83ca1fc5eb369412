package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shardinit/shardinit/internal/testworker"
)

// shardinit restart finds the running shardinit through --health-addr and
// rolls its workers.
func TestRestartCommand(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, port := startPool(t, start{}, 2, p.flag(), "http")
	before := slotsOf(p.status())
	out := &syncBuffer{}
	cmd := startShardinit(t, start{stdout: out}, "restart", "--health-addr", p.addr)
	if code := cmd.wait(10 * time.Second); code != 0 {
		t.Fatalf("shardinit restart: exit %d: %s", code, cmd.log.String())
	}
	if !strings.Contains(out.String(), "sent SIGHUP to shardinit (pid ") {
		t.Errorf("shardinit restart said %q", out.String())
	}
	eventually(t, 20*time.Second, "both workers rolled", func() bool { return settled(p.status(), before) })
	// Each new worker answers, so it handles its stop signal (a loaded
	// machine may take longer than the one-second settle to get there).
	slotPIDs(t, port, 2)
	in.stopCleanly()
}

// --signal-map remaps over the defaults: USR2 restarts instead of HUP, QUIT
// reaches the workers as USR1, and USR1 is ignored.
func TestSignalMap(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, port := startPool(t, start{}, 2, append(p.flag(), "--log-level", "debug",
		"--signal-map", "USR2=restart,HUP=forward,QUIT=forward:USR1,USR1=ignore"), "http")
	in.signal(syscall.SIGQUIT)
	eachWorker(t, port, 2, "get SIGQUIT as SIGUSR1", func(i testworker.Info) bool { return i.USR1 == 1 })
	in.signal(syscall.SIGUSR1)
	const ignored = `msg="signal not forwarded" signal=SIGUSR1`
	eventually(t, 10*time.Second, ignored, func() bool { return strings.Contains(in.log.String(), ignored) })
	usr1 := map[int]int64{} // worker PID → SIGUSR1 received
	eventually(t, 10*time.Second, "both workers to answer /info", func() bool {
		i := fetchInfo(t, port)
		usr1[i.PID] = i.USR1
		return len(usr1) == 2
	})
	for pid, n := range usr1 {
		if n != 1 {
			t.Errorf("worker %d got %d SIGUSR1, want 1 (from QUIT; the ignored SIGUSR1 must not reach it)", pid, n)
		}
	}
	in.signal(syscall.SIGUSR2)
	if r := p.status(); r.RestartSignal != "SIGUSR2" {
		t.Errorf("/status restart_signal = %q, want SIGUSR2", r.RestartSignal)
	}
	before := slotsOf(p.status())
	eventually(t, 20*time.Second, "SIGUSR2 to roll the workers", func() bool { return settled(p.status(), before) })
	eachWorker(t, port, 2, "be new, with no SIGUSR1 (it was ignored)", func(i testworker.Info) bool { return i.USR1 == 0 })
	in.stopCleanly()
}

// --success-exit-codes 143: workers that die of SIGTERM end shardinit with 0.
func TestSuccessExitCodes(t *testing.T) {
	t.Parallel()
	in := startShardinit(t, start{}, append([]string{"--workers", "2", "--health-addr", "", "--success-exit-codes", "143", "--"},
		worker("sleep")...)...)
	waitWorkers(t, in, 2, "sleep")
	in.signal(syscall.SIGTERM)
	if code := in.wait(15 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0 (143 counts as success)", code)
	}
}
