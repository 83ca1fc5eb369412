package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shardinit/shardinit/internal/testworker"
	"golang.org/x/sys/unix"
)

// These tests run shardinit as PID 1 of a new PID namespace, as in a
// container. Workers report PIDs of that namespace; the test sees them
// through /proc by their PIDs outside it.

// waitWorkers waits until shardinit has n children running `worker MODE`
// (past the exec stage, so their signal handling is the worker's own), and
// returns their PIDs as seen from the test.
func waitWorkers(t *testing.T, in *instance, n int, mode string) []int {
	t.Helper()
	var pids []int
	eventually(t, 15*time.Second, fmt.Sprintf("%d workers in mode %s", n, mode), func() bool {
		pids = pids[:0]
		for pid := range childrenOf(in.cmd.Process.Pid) {
			// The worker's own argv, `<bin> worker MODE …`: a child not yet
			// exec'd has shardinit's, and the exec stage its own, and both
			// name the worker command further on.
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if argv := strings.Split(string(b), "\x00"); len(argv) > 2 && argv[1] == "worker" && argv[2] == mode {
				pids = append(pids, pid)
			}
		}
		return len(pids) == n
	})
	return pids
}

// A closed stdout or stderr must not kill PID 1, nor must the SIGPIPE that
// its own writes raise reach the workers.
func TestPID1SurvivesClosedOutput(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // every write to w now fails with EPIPE and raises SIGPIPE
	in, port := startPool(t, start{pid1: true, stdout: w, stderr: w}, 2, []string{"--log-level", "debug"}, "http")
	w.Close()
	pids := waitWorkers(t, in, 2, "http")
	in.signal(syscall.SIGPIPE)
	// Replacing a worker makes shardinit log, into the closed pipe.
	syscall.Kill(pids[0], syscall.SIGKILL)
	eventually(t, 10*time.Second, "the killed worker to be replaced", func() bool {
		now := waitWorkers(t, in, 2, "http")
		return !slices.Contains(now, pids[0])
	})
	if !slices.Contains(waitWorkers(t, in, 2, "http"), pids[1]) {
		t.Errorf("worker %d was killed too: a SIGPIPE reached it", pids[1])
	}
	slotPIDs(t, port, 2)
	in.stopCleanly()
}

func TestPID1GracefulStop(t *testing.T) {
	t.Parallel()
	in, _ := startPool(t, start{pid1: true}, 2, nil, "http")
	in.stopCleanly()
}

func TestPID1StopTimeoutKills(t *testing.T) {
	t.Parallel()
	in, _ := startPool(t, start{pid1: true}, 1, []string{"--stop-timeout", "1s"}, "ignore-term")
	asked := time.Now()
	in.signal(syscall.SIGTERM)
	if code := in.wait(15 * time.Second); code != 128+int(syscall.SIGKILL) {
		t.Errorf("exit code %d, want %d (worker killed)", code, 128+int(syscall.SIGKILL))
	}
	if waited := time.Since(asked); waited < time.Second {
		t.Errorf("worker killed after %s, before --stop-timeout 1s", waited)
	}
	if !strings.Contains(in.log.String(), "stop timeout passed") {
		t.Errorf("log does not say why the worker was killed")
	}
}

func TestPID1CommandErrors(t *testing.T) {
	t.Parallel()
	notExec := filepath.Join(t.TempDir(), "server")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		command []string
		code    int
		want    string
	}{
		{[]string{"no-such-server-anywhere"}, 127, "command not found: no-such-server-anywhere"},
		{[]string{"/no/such/server"}, 127, "command not found: /no/such/server"},
		{[]string{notExec}, 126, "is not executable"},
	} {
		in := startShardinit(t, start{pid1: true}, append([]string{"--health-addr", "", "--"}, c.command...)...)
		if code := in.wait(10 * time.Second); code != c.code {
			t.Errorf("%s: exit code %d, want %d", c.command[0], code, c.code)
		}
		if log := strings.TrimSpace(in.log.String()); !strings.Contains(log, c.want) || strings.Count(log, "\n") > 2 {
			t.Errorf("%s: stderr %q, want a line with %q", c.command[0], log, c.want)
		}
	}
}

// SIGINT reaches the workers as SIGINT; workers that die of it make
// shardinit exit 130, as a shell would report.
func TestPID1Interrupt(t *testing.T) {
	t.Parallel()
	in := startShardinit(t, start{pid1: true}, append([]string{"--workers", "2", "--health-addr", "", "--"}, worker("sleep")...)...)
	waitWorkers(t, in, 2, "sleep")
	in.signal(syscall.SIGINT)
	if code := in.wait(15 * time.Second); code != 130 {
		t.Errorf("exit code %d, want 130", code)
	}
}

// Ctrl-C on an interactive terminal (docker run -it) goes to the terminal's
// foreground group, the workers'; it must stop the pool as it stops them.
func TestPID1CtrlCOnTerminal(t *testing.T) {
	t.Parallel()
	in, master := startOnTerminal(t, append([]string{"--workers", "2", "--health-addr", "", "--"}, worker("sleep")...)...)
	waitWorkers(t, in, 2, "sleep")
	if _, err := master.Write([]byte{3}); err != nil { // ^C
		t.Fatal(err)
	}
	if code := in.wait(15 * time.Second); code != 130 {
		t.Errorf("exit code %d, want 130", code)
	}
}

// startOnTerminal runs shardinit as PID 1 with a new pseudo-terminal as its
// controlling terminal and standard streams, as docker run -it does, and
// returns the terminal's other end, whose output is kept moving.
func startOnTerminal(t *testing.T, args ...string) (*instance, *os.File) {
	t.Helper()
	master, tty := openPTY(t)
	in := startShardinit(t, start{pid1: true, stdout: tty, stderr: tty, prepare: func(cmd *exec.Cmd) {
		cmd.Stdin = tty
		cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, true, 0
	}}, args...)
	tty.Close()
	go io.Copy(io.Discard, master)
	return in, master
}

func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	return master, tty
}

// Signals other than TERM and INT are forwarded to every worker; SIGPIPE
// and fault signals sent to shardinit are not.
func TestPID1ForwardsSignals(t *testing.T) {
	t.Parallel()
	in, port := startPool(t, start{pid1: true}, 2, []string{"--log-level", "debug"}, "http")
	before := slotPIDs(t, port, 2)
	in.signal(syscall.SIGUSR1)
	eachWorker(t, port, 2, "count a SIGUSR1", func(i testworker.Info) bool { return i.USR1 == 1 })
	kept := []syscall.Signal{syscall.SIGPIPE, syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE}
	for _, sig := range kept {
		in.signal(sig)
	}
	for _, sig := range kept {
		line := fmt.Sprintf(`msg="signal not forwarded" signal=%s`, unix.SignalName(sig))
		eventually(t, 10*time.Second, line, func() bool { return strings.Contains(in.log.String(), line) })
	}
	if after := slotPIDs(t, port, 2); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("workers changed from %v to %v: a fault signal or SIGPIPE was forwarded", before, after)
	}
}

// SIGPROF never reaches shardinit's code (the Go runtime keeps it for its
// profiler), so it is not forwarded, and it harms nothing: workers that a
// forwarded SIGPROF would kill (sleep) outlive it, and the SIGWINCH sent
// after it is handled.
func TestPID1SIGPROFNotForwarded(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in := startShardinit(t, start{pid1: true}, append(p.flag(), "--workers", "2", "--ready-on", "start", "--", "sleep", "1000")...)
	p.waitCode("/readyz", http.StatusOK)
	in.signal(syscall.SIGPROF)
	in.signal(syscall.SIGWINCH)
	eventually(t, 10*time.Second, "SIGWINCH counted", func() bool {
		return sample(p.metrics()["shardinit_signals_received_total"], "signal", "SIGWINCH") == 1
	})
	in.signal(syscall.SIGTERM)
	if code := in.wait(15 * time.Second); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit code %d, want %d from workers stopped by SIGTERM", code, 128+int(syscall.SIGTERM))
	}
	if out := in.log.String(); strings.Contains(out, "SIGPROF") {
		t.Errorf("SIGPROF reached a worker or shardinit's log:\n%s", out)
	}
}
