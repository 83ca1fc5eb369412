package spawn

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
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
	exits   []exit // what wait4 hands out next
	calls   []string
	sockets *fakeSockets
	log     bytes.Buffer
}

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
	m := &machine{t: t, now: time.Unix(1_000_000_000, 0), nextPID: 1 << 30, live: map[int]bool{}}
	m.sockets = &fakeSockets{m: m, shards: max(cfg.Workers, 1)}
	cfg.Sockets = m.sockets
	cfg.Env = []string{}
	cfg.Logger = slog.New(slog.NewTextHandler(&m.log, nil))
	n, err := newNotifier("", nil) // abstract names: nothing to clean up
	if err != nil {
		t.Fatal(err)
	}
	var snap atomic.Pointer[Status]
	m.s = newSupervisor(withDefaults(cfg), n, &snap)
	m.s.os = osCalls{forkExec: m.forkExec, kill: m.kill, wait4: m.wait4, now: func() time.Time { return m.now }}
	t.Cleanup(func() {
		for _, w := range m.s.byPID {
			w.sock.close()
		}
		if t.Failed() {
			t.Logf("calls:\n  %s\nlog:\n%s", strings.Join(m.calls, "\n  "), m.log.String())
		}
	})
	for _, sl := range m.s.slots {
		m.s.start(sl, m.now)
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
	m.record("fork %d", m.nextPID)
	return m.nextPID, nil
}

func (m *machine) kill(pid int, sig unix.Signal) error {
	m.record("kill %d %s", pid, SignalName(sig))
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
