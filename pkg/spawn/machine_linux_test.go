package spawn

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A machine is a supervisor with no process under it: fork/exec, kill and
// wait4 are recorders, the sockets are a fake that notes what is done to
// them, and the test moves the clock by hand. Its PIDs start above the
// kernel's highest (pid_max is at most 2^22), so that not even a real
// kill() could reach a process.
type machine struct {
	t       *testing.T
	s       *supervisor
	now     time.Time
	nextPID int
	live    map[int]bool
	forked  map[int]*worker // every worker the supervisor made, by PID
	exits   []exit          // what wait4 hands out next
	calls   []string
	sockets *fakeSockets
	log     bytes.Buffer
	rss     map[int]uint64 // resident bytes by session, for --max-worker-memory
	cpu     CPUShare       // what the CPU limit gives, for Config.Follow
	halted  map[int]bool   // processes stopped by a signal (state T)
}

// firstPID is above the kernel's highest PID; the machine's come after it.
const firstPID = 1 << 30

type exit struct {
	pid int
	ws  unix.WaitStatus
}

// exited and killedBy are the wait statuses of an exit(code) and a death
// by sig.
func exited(code int) unix.WaitStatus          { return unix.WaitStatus(code << 8) }
func killedBy(sig unix.Signal) unix.WaitStatus { return unix.WaitStatus(sig) }

// newMachine starts cfg's workers (none of them ready yet).
func newMachine(t *testing.T, cfg Config) *machine {
	m := &machine{t: t, now: time.Unix(1_000_000_000, 0), nextPID: firstPID, live: map[int]bool{}, forked: map[int]*worker{}}
	m.sockets = &fakeSockets{m: m, shards: max(cfg.Workers, 1)}
	cfg.Sockets = m.sockets
	cfg.Env = []string{}
	cfg.Logger = slog.New(slog.NewTextHandler(&m.log, nil))
	if cfg.FollowEvery > 0 {
		m.cpu = cfg.CPU
		cfg.Follow = func() (CPUShare, error) { return m.cpu, nil }
	}
	n, err := newNotifier("", nil) // abstract names: nothing to clean up
	if err != nil {
		t.Fatal(err)
	}
	var snap atomic.Pointer[Snapshot]
	m.s = newSupervisor(withDefaults(cfg), n, &snap)
	m.s.os = osCalls{forkExec: m.forkExec, kill: m.kill, wait4: m.wait4, now: func() time.Time { return m.now }, resident: m.resident,
		state: func(pid int) string {
			if m.halted[pid] {
				return "T"
			}
			return "S"
		}}
	t.Cleanup(func() {
		for _, w := range m.s.byPID {
			w.sock.close()
		}
		if t.Failed() {
			t.Logf("calls:\n  %s\nlog:\n%s", strings.Join(m.calls, "\n  "), m.log.String())
		}
	})
	for _, sl := range m.s.slots {
		m.s.start(sl, RestartCrash, m.now)
		m.learnWorkers()
		if sl.current == nil {
			t.Fatalf("slot %d did not start:\n%s", sl.index, m.log.String())
		}
	}
	m.pass(0)
	return m
}

// pass moves the clock on by d and runs one pass of the loop: reap,
// advance, publish.
func (m *machine) pass(d time.Duration) {
	m.now = m.now.Add(d)
	m.s.reap()
	m.s.advance(m.now)
	m.s.publish()
	m.learnWorkers()
}

// learnWorkers remembers the supervisor's workers by PID, so that a test
// can still name one after it exited.
func (m *machine) learnWorkers() {
	for pid, w := range m.s.byPID {
		m.forked[pid] = w
	}
}

// note is a worker's datagram on its notify socket.
func (m *machine) note(w *worker, text string) {
	m.s.onNote(note{sock: w.sock, text: text, sender: w.pid, session: w.pid}, m.now)
	m.pass(0)
}

// signal is a signal that reaches shardinit.
func (m *machine) signal(sig unix.Signal) {
	m.s.onSignal(sig, m.now)
	m.pass(0)
}

// exit ends a worker's process; the next pass reaps it.
func (m *machine) exit(w *worker, ws unix.WaitStatus) {
	m.exits = append(m.exits, exit{w.pid, ws})
	m.pass(0)
}

// readyAll makes every current worker ready.
func (m *machine) readyAll() {
	for _, sl := range m.s.slots {
		m.note(sl.current, "READY=1")
	}
}

// since are the calls made from mark on; mark is len(m.calls) then.
func (m *machine) since(mark int) []string { return slices.Clone(m.calls[mark:]) }

func (m *machine) record(format string, args ...any) {
	m.calls = append(m.calls, fmt.Sprintf(format, args...))
}

func (m *machine) forkExec(string, []string, *syscall.ProcAttr) (int, error) {
	m.nextPID++
	m.live[m.nextPID] = true
	m.record("fork %s", m.name(m.nextPID))
	return m.nextPID, nil
}

// kill notes a signal to one of the machine's workers ("kill w2 SIGTERM")
// or to its process group ("kill -w2 SIGTERM"). The search for the test
// process's own children (killDescendants) may find real ones; they are
// neither signalled nor noted.
func (m *machine) kill(pid int, sig unix.Signal) error {
	if name := m.name(pid); name != "" {
		m.record("kill %s %s", name, SignalName(sig))
	}
	return nil
}

// name is pid's name in the calls: w1 for the first fork, -w1 for its
// process group; "" for a PID that is not the machine's.
func (m *machine) name(pid int) string {
	switch {
	case pid > firstPID:
		return fmt.Sprintf("w%d", pid-firstPID)
	case -pid > firstPID:
		return fmt.Sprintf("-w%d", -pid-firstPID)
	}
	return ""
}

// worker is the machine's process called name (w1, w2, …), running or not.
func (m *machine) worker(name string) *worker {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "w"))
	if err != nil || n < 1 || firstPID+n > m.nextPID {
		m.t.Fatalf("no worker %q", name)
	}
	if w := m.forked[firstPID+n]; w != nil {
		return w
	}
	m.t.Fatalf("worker %q was forked but is not the supervisor's", name)
	return nil
}

func (m *machine) wait4(_ int, ws *unix.WaitStatus, _ int, _ *unix.Rusage) (int, error) {
	if len(m.exits) > 0 {
		e := m.exits[0]
		m.exits = m.exits[1:]
		delete(m.live, e.pid)
		*ws = e.ws
		return e.pid, nil
	}
	if len(m.live) > 0 {
		return 0, nil
	}
	return 0, unix.ECHILD
}

// fakeSockets numbers shards as listen.Set does and notes every change.
type fakeSockets struct {
	m      *machine
	shards int
	queued map[int]int
}

func (f *fakeSockets) FDs(int) []int        { return nil }
func (f *fakeSockets) Names() []string      { return nil }
func (f *fakeSockets) Queued(shard int) int { return f.queued[shard] }
func (f *fakeSockets) Refresh() []string    { return nil }

func (f *fakeSockets) AddShard(fenced bool) (int, error) {
	f.shards++
	f.m.record("add shard %d fenced=%t", f.shards-1, fenced)
	return f.shards - 1, nil
}

func (f *fakeSockets) Steer(away ...int) error {
	f.m.record("steer away from %v", away)
	return nil
}

func (f *fakeSockets) Unsteer() error {
	f.m.record("unsteer")
	return nil
}

func (f *fakeSockets) CloseShard(shard int) (int, int, error) {
	f.shards--
	f.m.record("close shard %d", shard)
	return 0, 0, nil
}

func (f *fakeSockets) ReplaceShard(old, fresh int) (int, int, error) {
	f.shards--
	f.m.record("replace shard %d by %d", old, fresh)
	return 0, 0, nil
}

// A script is a table of steps, each with the calls it must make, in
// order, separated by "; " ("" for none). A step is one of
//
//	pass 200ms       the clock moves on; one pass of the loop
//	signal SIGHUP    a signal reaches shardinit
//	note w3 READY=1  a worker's notify datagram
//	exit w3 1        a worker exits with a code, or
//	exit w3 SIGTERM  dies of a signal
//	queue 0 5        shard 0's accept queue holds 5 connections now
//	ready            every current worker says READY=1
//	phase stopping   the pool is in that phase (a check, no calls)
type script []struct{ do, want string }

func (m *machine) run(sc script) {
	m.t.Helper()
	for i, st := range sc {
		mark := len(m.calls)
		m.do(st.do)
		got := strings.Join(m.since(mark), "; ")
		if got != st.want {
			m.t.Fatalf("step %d %q: calls %q, want %q", i+1, st.do, got, st.want)
		}
	}
}

func (m *machine) do(step string) {
	m.t.Helper()
	f := strings.Fields(step)
	arg := func(i int) string {
		if i >= len(f) {
			m.t.Fatalf("step %q: too few words", step)
		}
		return f[i]
	}
	switch f[0] {
	case "pass":
		d, err := time.ParseDuration(arg(1))
		if err != nil {
			m.t.Fatalf("step %q: %v", step, err)
		}
		m.pass(d)
	case "signal":
		m.signal(m.parseSignal(arg(1)))
	case "note":
		m.note(m.worker(arg(1)), strings.Join(f[2:], "\n"))
	case "exit":
		var ws unix.WaitStatus
		if code := arg(2); strings.HasPrefix(code, "SIG") {
			ws = killedBy(m.parseSignal(code))
		} else {
			ws = exited(m.atoi(code))
		}
		m.exit(m.worker(arg(1)), ws)
	case "queue":
		if m.sockets.queued == nil {
			m.sockets.queued = map[int]int{}
		}
		m.sockets.queued[m.atoi(arg(1))] = m.atoi(arg(2))
	case "ready":
		m.readyAll()
	case "cpu": // cpu 4 2 1: a limit of 4 CPUs gives 2 workers, GOMAXPROCS 1 each
		m.cpu = CPUShare{Limit: float64(m.atoi(arg(1))), Cpuset: m.cpu.Cpuset, Workers: m.atoi(arg(2)), GOMAXPROCS: m.atoi(arg(3))}
	case "halt": // halt w1: SIGSTOP from outside shardinit
		if m.halted == nil {
			m.halted = map[int]bool{}
		}
		m.halted[m.worker(arg(1)).pid] = true
	case "resume":
		delete(m.halted, m.worker(arg(1)).pid)
	case "resident": // resident w1 300: its session holds 300 bytes
		if m.rss == nil {
			m.rss = map[int]uint64{}
		}
		m.rss[m.worker(arg(1)).pid] = uint64(m.atoi(arg(2)))
	case "phase":
		if got := string(m.s.phase); got != arg(1) {
			m.t.Fatalf("step %q: phase %s", step, got)
		}
	default:
		m.t.Fatalf("step %q: no such step", step)
	}
}

func (m *machine) resident(sessions map[int]bool) map[int]uint64 {
	out := map[int]uint64{}
	for pid := range sessions {
		out[pid] = m.rss[pid]
	}
	return out
}

func (m *machine) atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		m.t.Fatalf("%q: not a number", s)
	}
	return n
}

func (m *machine) parseSignal(s string) unix.Signal {
	sig, err := ParseSignal(s)
	if err != nil {
		m.t.Fatal(err)
	}
	return sig
}
