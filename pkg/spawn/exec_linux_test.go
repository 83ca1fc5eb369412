package spawn

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
)

func TestMain(m *testing.M) {
	ExecStage()
	os.Exit(m.Run())
}

// execStage runs script under /bin/sh through the exec stage, as the
// supervisor would, and returns its output.
func execStage(t *testing.T, env []string, script string) (string, error) {
	t.Helper()
	cmd := &exec.Cmd{
		Path: os.Args[0],
		Args: []string{execStageArg0, "/bin/sh", "sh", "-c", script},
		Env:  env,
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The stage sets LISTEN_PID to the worker's own PID (the shell's $$ after
// the exec) and hands over no ignored signal.
func TestExecStage(t *testing.T) {
	// Ignored here, so ignored in the stage unless it resets them.
	signal.Ignore(syscall.SIGHUP, syscall.SIGUSR2)
	defer signal.Reset(syscall.SIGHUP, syscall.SIGUSR2)
	out, err := execStage(t, []string{"LISTEN_FDS=1"},
		`[ "$LISTEN_PID" = "$$" ] && echo pid-ok; grep -E '^Sig(Ign|Blk)' /proc/self/status`)
	if err != nil {
		t.Fatalf("exec stage: %v: %s", err, out)
	}
	if !strings.Contains(out, "pid-ok") {
		t.Errorf("LISTEN_PID is not the worker's PID:\n%s", out)
	}
	masks := 0
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "Sig") {
			continue
		}
		masks++
		if !strings.HasSuffix(line, "0000000000000000") {
			t.Errorf("worker starts with %s, want nothing ignored or blocked", line)
		}
	}
	if masks != 2 {
		t.Errorf("found %d of the SigIgn and SigBlk lines, want 2:\n%s", masks, out)
	}
}

func TestExecStageWithoutSockets(t *testing.T) {
	out, err := execStage(t, nil, `echo "[$LISTEN_PID]"`)
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Errorf("without LISTEN_FDS: got %q (%v), want no LISTEN_PID", out, err)
	}
}

func TestExecStageFailures(t *testing.T) {
	for path, want := range map[string]int{"/no/such/server": 127, "/etc/passwd": 126, "/": 126} {
		cmd := &exec.Cmd{Path: os.Args[0], Args: []string{execStageArg0, path, "server"}}
		out, _ := cmd.CombinedOutput()
		if got := cmd.ProcessState.ExitCode(); got != want {
			t.Errorf("exec %s: exit code %d, want %d", path, got, want)
		}
		if !strings.HasPrefix(string(out), "shardinit: exec "+path+": ") {
			t.Errorf("exec %s: stderr %q, want one line naming it", path, out)
		}
	}
}

func TestResolve(t *testing.T) {
	if _, err := Resolve("sh"); err != nil {
		t.Errorf("Resolve(sh): %v", err)
	}
	for name, want := range map[string]error{"no-such-server-anywhere": ErrCommandNotFound, "/no/such": ErrCommandNotFound,
		"/etc/passwd": ErrCommandNotExecutable} {
		if _, err := Resolve(name); !errors.Is(err, want) {
			t.Errorf("Resolve(%s) = %v, want %v", name, err, want)
		}
	}
}
