package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shardinit/shardinit/internal/procstat"
	"github.com/shardinit/shardinit/internal/testworker"
	"github.com/shardinit/shardinit/pkg/spawn"
)

// TestMain lets this test binary be shardinit (`<bin> shardinit ARGS`), a
// worker (`<bin> worker MODE`), the exec stage, or a launcher, so that every
// test runs real processes.
func TestMain(m *testing.M) {
	spawn.ExecStage()
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "shardinit":
			applyTestHealthLimits()
			code, err := run(context.Background(), append([]string{"shardinit"}, os.Args[2:]...))
			os.Exit(exitCode(code, err, os.Stderr))
		case "worker":
			os.Exit(testworker.Main(os.Args[2:]))
		default:
			launch(os.Args[1], os.Args[2:])
		}
	}
	// Race-built processes sleep a second on exit by default; the test's
	// shardinits and workers need not.
	if os.Getenv("GORACE") == "" {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	os.Exit(m.Run())
}

// worker is the command line of a test worker.
func worker(mode ...string) []string {
	return append([]string{os.Args[0], "worker"}, mode...)
}

// instance is one shardinit process under test.
type instance struct {
	t      *testing.T
	cmd    *exec.Cmd
	log    *syncBuffer
	done   chan struct{}
	status syscall.WaitStatus
}

type start struct {
	pid1    bool     // in a new PID namespace, as PID 1
	launch  []string // through a launcher: launch-masked, launch-in-netns, launch-in-cgroup DIR
	env     []string // added to the environment
	stdout  io.Writer
	stderr  io.Writer // default: captured in instance.log
	prepare func(*exec.Cmd)
}

// startShardinit runs `shardinit ARGS` and ends it when the test ends.
func startShardinit(t *testing.T, s start, args ...string) *instance {
	t.Helper()
	if s.pid1 && os.Geteuid() != 0 {
		t.Skip("running shardinit as PID 1 needs a new PID namespace, which needs root")
	}
	role := append(slices.Clone(s.launch), "shardinit")
	cmd := exec.Command(os.Args[0], append(role, args...)...)
	cmd.Env = append(os.Environ(), s.env...)
	in := &instance{t: t, cmd: cmd, log: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	if s.stderr == nil {
		cmd.Stderr = in.log
	}
	if s.pid1 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	}
	if s.prepare != nil {
		s.prepare(cmd)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start shardinit: %v", err)
	}
	go func() {
		cmd.Wait()
		in.status = cmd.ProcessState.Sys().(syscall.WaitStatus)
		close(in.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-in.done
		if t.Failed() {
			t.Logf("shardinit log:\n%s", in.log.String())
		}
	})
	return in
}

// startPool runs `shardinit --workers n --listen http=127.0.0.1:PORT FLAGS --
// worker MODE...` on a fresh port, waits until each of the n workers has
// answered (so each handles its stop signal), and returns the port.
func startPool(t *testing.T, s start, n int, flags []string, mode ...string) (*instance, int) {
	t.Helper()
	port := freePort(t)
	args := append([]string{"--workers", strconv.Itoa(n), "--listen", listenArg("http", port), "--health-addr", ""}, flags...)
	in := startShardinit(t, s, append(append(args, "--"), worker(mode...)...)...)
	waitServing(t, in, port)
	slotPIDs(t, port, n)
	return in, port
}

// stopCleanly sends SIGTERM and wants shardinit to exit 0.
func (in *instance) stopCleanly() {
	in.t.Helper()
	in.signal(syscall.SIGTERM)
	if code := in.wait(15 * time.Second); code != 0 {
		in.t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
}

// wait returns shardinit's exit code (128+N if a signal killed it).
func (in *instance) wait(timeout time.Duration) int {
	in.t.Helper()
	select {
	case <-in.done:
	case <-time.After(timeout):
		in.t.Fatalf("shardinit still running after %s", timeout)
	}
	if in.status.Signaled() {
		return 128 + int(in.status.Signal())
	}
	return in.status.ExitStatus()
}

func (in *instance) exited() bool {
	select {
	case <-in.done:
		return true
	default:
		return false
	}
}

func (in *instance) signal(sig syscall.Signal) {
	in.t.Helper()
	if err := in.cmd.Process.Signal(sig); err != nil {
		in.t.Fatalf("signal shardinit: %v", err)
	}
}

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// portsGiven holds every port freePort handed out: the kernel may offer a
// closed port again, and parallel tests (or one test asking for a health
// port and a listen port) must never be given the same one twice.
var portsGiven = struct {
	sync.Mutex
	seen map[int]bool
}{seen: map[int]bool{}}

// freePort finds a TCP port on 127.0.0.1 that nothing listens on now and
// that no other caller in this test binary was given.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		portsGiven.Lock()
		fresh := !portsGiven.seen[port]
		portsGiven.seen[port] = true
		portsGiven.Unlock()
		if fresh {
			return port
		}
	}
	t.Fatal("no port that was not handed out before in 100 tries")
	return 0
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// get fetches url on a new connection.
func get(url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}

// waitServing waits until the port answers.
func waitServing(t *testing.T, in *instance, port int) {
	t.Helper()
	eventually(t, 15*time.Second, "workers to serve", func() bool {
		if in.exited() {
			t.Fatalf("shardinit exited early:\n%s", in.log.String())
		}
		_, err := get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		return err == nil
	})
}

// slotPIDs asks fresh connections until every one of n slots has answered,
// and returns slot → worker PID.
func slotPIDs(t *testing.T, port, n int) map[int]int {
	t.Helper()
	seen := map[int]int{}
	for i := 0; i < 100*n && len(seen) < n; i++ {
		slot, pid, err := hello(port)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		seen[slot] = pid
	}
	if len(seen) != n {
		t.Fatalf("got answers from slots %v, want %d slots", seen, n)
	}
	return seen
}

// hello does GET / and parses the worker's "SLOT PID" answer.
func hello(port int) (slot, pid int, err error) {
	body, err := get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		return 0, 0, err
	}
	_, err = fmt.Sscan(body, &slot, &pid)
	return slot, pid, err
}

// childrenOf lists the PIDs whose parent is pid, with their state letter.
func childrenOf(pid int) map[int]string {
	out := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		s, err := procstat.Read(child)
		if ppid, _ := s.PPID(); err == nil && ppid == pid {
			out[child] = s.State()
		}
	}
	return out
}

// procState is the state letter of pid's main thread ("" if it is gone).
func procState(pid int) string {
	s, _ := procstat.Read(pid)
	return s.State()
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
