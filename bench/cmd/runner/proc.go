package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shardinit/shardinit/internal/procstat"
)

// proc is a process the runner started. Every one is registered until it
// has been stopped, so that an interrupted run kills what it started (by
// PID) before it exits.
type proc struct {
	name  string
	cmd   *exec.Cmd
	pid   int
	start uint64 // starttime in /proc/PID/stat: tells a reused PID apart
	out   *tail
	done  chan struct{}
	err   error
}

var (
	procsMu sync.Mutex
	procs   = map[*proc]bool{}
)

// tail keeps the last 64 KiB a process wrote and counts the lines that are
// exactly "READY" (the node server's marker).
type tail struct {
	mu    sync.Mutex
	buf   []byte
	ready int
	part  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 64<<10 {
		t.buf = t.buf[len(t.buf)-64<<10:]
	}
	t.part = append(t.part, p...)
	for {
		i := bytes.IndexByte(t.part, '\n')
		if i < 0 {
			break
		}
		if strings.TrimSpace(string(t.part[:i])) == "READY" {
			t.ready++
		}
		t.part = t.part[i+1:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func (t *tail) readies() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ready
}

// startProc starts argv in its own process group (a Ctrl-C on the terminal
// reaches the runner, which stops everything in order). env is added to
// the runner's environment.
func startProc(name string, argv []string, env ...string) (*proc, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = cfg.root
	out := &tail{}
	cmd.Stdout, cmd.Stderr = out, out
	// Pdeathsig: should the runner die, its processes are told to stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, pid: cmd.Process.Pid, out: out, done: make(chan struct{})}
	p.start = startTime(p.pid)
	procsMu.Lock()
	procs[p] = true
	procsMu.Unlock()
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitCode is the process's exit code once it has exited (-1 before).
func (p *proc) exitCode() int {
	if !p.exited() {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// stop asks the process to stop (SIGTERM), waits up to grace, then kills it;
// then it kills every descendant it had that is still there (each checked
// by PID and start time, so that no stranger that got a reused PID is hit).
// It returns how many leftovers had to be killed.
func (p *proc) stop(grace time.Duration) int {
	defer func() {
		procsMu.Lock()
		delete(procs, p)
		procsMu.Unlock()
	}()
	desc := descendants(p.pid)
	if !p.exited() {
		syscall.Kill(p.pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			syscall.Kill(p.pid, syscall.SIGKILL)
			<-p.done
		}
	}
	left := 0
	for _, d := range desc {
		if startTime(d.pid) == d.start {
			// A stopped process (SIGSTOP) must be continued to die of TERM;
			// KILL needs no continuing.
			syscall.Kill(d.pid, syscall.SIGKILL)
			left++
		}
	}
	return left
}

// stopAll stops every process still registered (on interrupt or error).
func stopAll() {
	procsMu.Lock()
	var all []*proc
	for p := range procs {
		all = append(all, p)
	}
	procsMu.Unlock()
	for _, p := range all {
		p.stop(5 * time.Second)
	}
}

type pidStart struct {
	pid   int
	start uint64
}

// startTime is field 22 of /proc/PID/stat (0 when the process is gone).
func startTime(pid int) uint64 {
	s, err := procstat.Read(pid)
	if err != nil {
		return 0
	}
	v, _ := s.StartTicks()
	return v
}

// descendants lists the processes under pid, deepest last.
func descendants(root int) []pidStart {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		s, err := procstat.Read(pid)
		if err != nil {
			continue
		}
		ppid, _ := s.PPID()
		children[ppid] = append(children[ppid], pid)
	}
	var out []pidStart
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, pidStart{c, startTime(c)})
			queue = append(queue, c)
		}
	}
	return out
}

// cpuNs is the CPU time of every thread of pid, in ns (schedstat).
func cpuNs(pid int) float64 {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum float64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if fs := strings.Fields(string(b)); len(fs) > 0 {
			v, _ := strconv.ParseFloat(fs[0], 64)
			sum += v
		}
	}
	return sum
}

// switches counts the context switches of every thread of pid.
func switches(pid int) float64 {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	var sum float64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "voluntary_ctxt_switches:") || strings.HasPrefix(line, "nonvoluntary_ctxt_switches:") {
				v, _ := strconv.ParseFloat(strings.TrimSpace(line[strings.IndexByte(line, ':')+1:]), 64)
				sum += v
			}
		}
	}
	return sum
}

// rssKiB is the resident set of pid (Rss in smaps_rollup), in KiB.
func rssKiB(pid int) float64 { return rollupKiB(pid, "Rss:") }

// privateKiB is the part of the resident memory no other process shares.
func privateKiB(pid int) float64 {
	return rollupKiB(pid, "Private_Clean:") + rollupKiB(pid, "Private_Dirty:")
}

// rollupKiB is one field of /proc/PID/smaps_rollup, in KiB.
func rollupKiB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	return 0
}

// freePort returns a port p with p and p+1 free on 127.0.0.1, from a
// counter, so that no two cases share a port (and its TIME_WAITs).
var nextPort = 20000 + os.Getpid()%10000

func freePort() int {
	for {
		p := nextPort
		nextPort += 2
		if nextPort > 60000 {
			nextPort = 20000
		}
		if p >= 32768 && p <= 61000 {
			continue // the ephemeral range: client ports live there
		}
		ok := true
		for _, q := range []int{p, p + 1} {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", q))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return p
		}
	}
}

var probe = &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// httpStatus GETs url once: its status, or 0 when nothing answers.
func httpStatus(url string) int {
	resp, err := probe.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitUntil polls cond every interval until it holds or timeout passes.
func waitUntil(ctx context.Context, timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(interval)
	}
}

// notifySocket receives READY=1 from workers the runner launches by hand
// (NOTIFY_SOCKET), as shardinit does for --ready-on notify.
type notifySocket struct {
	path  string
	conn  *net.UnixConn
	mu    sync.Mutex
	ready int
}

func newNotify() (*notifySocket, error) {
	path := filepath.Join(cfg.tmp, fmt.Sprintf("notify-%d.sock", time.Now().UnixNano()))
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	n := &notifySocket{path: path, conn: conn}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			for _, line := range strings.Split(string(buf[:k]), "\n") {
				if line == "READY=1" {
					n.mu.Lock()
					n.ready++
					n.mu.Unlock()
				}
			}
		}
	}()
	return n, nil
}

func (n *notifySocket) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ready
}

func (n *notifySocket) close() {
	n.conn.Close()
	os.Remove(n.path)
}

var errNotReady = errors.New("not ready in time")
