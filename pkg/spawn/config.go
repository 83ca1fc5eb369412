package spawn

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/shardinit/shardinit/pkg/cpus"
)

// ErrNoCommand is returned by New when Config.Command is empty.
var ErrNoCommand = errors.New("no command to run: give one after --")

// ErrNotAnswering is returned by Alive when the supervisor's loop does not
// answer in time.
var ErrNotAnswering = errors.New("supervisor loop not answering")

// The defaults of Config's fields that shardinit's own settings show too:
// the library owns them, and its command's settings table takes them from
// here.
const (
	DefaultStopSignal    = syscall.SIGTERM
	DefaultStopTimeout   = 10 * time.Second
	DefaultRestart       = Always
	DefaultMaxRestarts   = 5
	DefaultRestartWindow = time.Minute
	DefaultMaxBackoff    = 10 * time.Second
	DefaultRestartSurge  = 1
	DefaultReadyTimeout  = time.Minute
	DefaultReadyOn       = ReadyOnAccept
	DefaultStuckTimeout  = 30 * time.Second
	DefaultOnStuck       = StuckRestart
)

// MinWatchdog is the shortest Watchdog: below it workers would be
// replaced faster than any of them could ping.
const MinWatchdog = 100 * time.Millisecond

// Config describes the pool. Zero values take the defaults noted on each
// field (see withDefaults).
type Config struct {
	// Command is the worker's argv.
	Command []string
	// Path is the executable. Default: Command[0] looked up in PATH.
	Path string
	// Workers is the number of slots. Default 1.
	Workers int
	// MaxWorkers is the most slots scaling up (SIGTTIN) may reach; a
	// scale-up beyond it is refused. Default: Workers or the CPUs this
	// process may run on (its cpuset), whichever is more.
	MaxWorkers int
	// Sockets are the listening sockets (a *listen.Set). Default: none.
	Sockets Sockets
	// Env is the workers' base environment. Default os.Environ().
	Env []string
	// GOMAXPROCS, when > 0, is set for workers whose Env does not set it.
	GOMAXPROCS int
	// StopSignal asks a worker to stop gracefully. Default SIGTERM.
	StopSignal syscall.Signal
	// StopTimeout is how long workers may take to stop before SIGKILL.
	// Default 10s.
	StopTimeout time.Duration
	// DrainDelay is how long the pool keeps serving, not ready, between a
	// stop request and the stop signal. Default 0.
	DrainDelay time.Duration
	// Restart says which exits restart a slot. Default Always.
	Restart Policy
	// MaxRestarts is how many restarts one slot may make within
	// RestartWindow before shardinit gives up. Default 5; negative:
	// unlimited.
	MaxRestarts int
	// RestartWindow is the span MaxRestarts counts over. Default 1m.
	RestartWindow time.Duration
	// MaxBackoff is the longest delay before the restart of a slot whose
	// worker keeps exiting quickly (from 100ms, doubling). Default 10s.
	MaxBackoff time.Duration
	// Preload, when set, is a shared library every worker loads first
	// (LD_PRELOAD): it is handed over as a sealed memfd after the sockets,
	// so it needs no file in the worker's filesystem.
	Preload []byte
	// Credential, when set, is the user, group and (no) supplementary
	// groups the workers run as. Default: shardinit's own.
	Credential *syscall.Credential
	// Signals says what each signal shardinit receives does. Default
	// DefaultSignalMap().
	Signals SignalMap
	// SuccessCodes are exit codes that count as a clean exit, like 0: for
	// --restart on-failure, for shardinit's own exit code, and in metrics.
	SuccessCodes []int
	// RestartSurge is how many slots a rolling restart replaces at once.
	// Default 1.
	RestartSurge int
	// ReadyTimeout is how long a rolling restart waits for a successor to
	// become ready before it gives up on it. Default 1m.
	ReadyTimeout time.Duration
	// ReadyOn says when a worker counts as ready. Default ReadyOnAccept,
	// which is ReadyOnStart when Sockets has none.
	ReadyOn ReadyOn
	// MinReady is how many slots need a ready worker for the pool to be
	// ready, at most every slot. Default 0: every slot.
	MinReady int
	// Watchdog, when > 0 (at least MinWatchdog), is how long a worker may go without a
	// WATCHDOG=1 on its NOTIFY_SOCKET before it is replaced (systemd's
	// WatchdogSec); it counts from readiness. Workers get WATCHDOG_USEC.
	Watchdog time.Duration
	// StuckTimeout is how long a slot's accept queue may stay non-empty
	// without draining before its worker counts as stuck. Default 30s;
	// negative: never.
	StuckTimeout time.Duration
	// OnStuck says what happens to a stuck worker. Default StuckRestart.
	OnStuck OnStuck
	// CPU is the share of the CPU limit the pool was sized from, and
	// Follow, when set, reads it again every FollowEvery: when it changed,
	// the pool scales to its Workers (within MaxWorkers), one slot at a
	// time through the scale path that loses no connection, new workers get
	// its GOMAXPROCS, and the workers whose GOMAXPROCS it made stale are
	// rolled. Signals may scale the pool meanwhile; the next change of the
	// limit scales it again.
	CPU         CPUShare
	Follow      func() (CPUShare, error)
	FollowEvery time.Duration
	// MaxWorkerLifetime, when > 0, replaces a ready worker once it has run
	// this long, plus up to a tenth more (jitter, so that workers started
	// together are not replaced together). 0: never.
	MaxWorkerLifetime time.Duration
	// MaxWorkerMemory, when > 0, replaces a ready worker whose session's
	// resident memory (the worker and the processes it started) is above
	// this many bytes. 0: never.
	MaxWorkerMemory uint64
	// NotifyDir, when set, is a directory for the workers' NOTIFY_SOCKET
	// files; default: abstract socket names, which some sd_notify clients
	// (Ruby's sd_notify gem) cannot use.
	NotifyDir string
	// Logger receives lifecycle events. Default: discarded.
	Logger *slog.Logger
}

func withDefaults(c Config) Config {
	c.Workers = max(c.Workers, 1)
	if c.MaxWorkers <= 0 {
		c.MaxWorkers = cpus.Budget{Cpuset: runtime.NumCPU()}.MaxWorkers(c.Workers) // the affinity mask at start-up
	}
	c.MaxWorkers = max(c.MaxWorkers, c.Workers)
	if c.Sockets == nil {
		c.Sockets = noSockets{}
	}
	if c.Env == nil {
		c.Env = os.Environ()
	}
	if c.StopSignal == 0 {
		c.StopSignal = DefaultStopSignal
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = DefaultStopTimeout
	}
	if c.Restart == "" {
		c.Restart = DefaultRestart
	}
	if c.MaxRestarts == 0 {
		c.MaxRestarts = DefaultMaxRestarts
	}
	if c.RestartWindow <= 0 {
		c.RestartWindow = DefaultRestartWindow
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.Signals == nil {
		c.Signals = DefaultSignalMap()
	}
	if c.RestartSurge <= 0 {
		c.RestartSurge = DefaultRestartSurge
	}
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
	if c.ReadyOn == "" {
		c.ReadyOn = DefaultReadyOn
	}
	if c.ReadyOn == ReadyOnAccept && len(c.Sockets.FDs(0)) == 0 {
		c.ReadyOn = ReadyOnStart // nothing to be seen accepting on
	}
	if c.StuckTimeout == 0 {
		c.StuckTimeout = DefaultStuckTimeout
	}
	if c.OnStuck == "" {
		c.OnStuck = DefaultOnStuck
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// ReadyOn says when a worker counts as ready.
type ReadyOn string

const (
	// ReadyOnStart: as soon as it has been started.
	ReadyOnStart ReadyOn = "start"
	// ReadyOnNotify: once it sends READY=1 to its NOTIFY_SOCKET.
	ReadyOnNotify ReadyOn = "notify"
	// ReadyOnAccept: once a process of it is seen waiting for connections
	// on its sockets (Linux; as start without sockets).
	ReadyOnAccept ReadyOn = "accept"
)

// ParseReadyOn checks a --ready-on value.
func ParseReadyOn(s string) (ReadyOn, error) {
	return oneOf(s, ReadyOnAccept, ReadyOnStart, ReadyOnNotify)
}

// OnStuck says what to do with a worker whose queue does not drain.
type OnStuck string

const (
	// StuckRestart replaces the worker; its successor takes the queue.
	StuckRestart OnStuck = "restart"
	// StuckReport only reports it (status, metrics, a failing /livez).
	StuckReport OnStuck = "report"
)

// ParseOnStuck checks an --on-stuck value.
func ParseOnStuck(s string) (OnStuck, error) {
	return oneOf(s, StuckRestart, StuckReport)
}

// oneOf returns s as a T if it is one of choices, and otherwise an error
// that quotes s and names every choice (the caller names the setting).
func oneOf[T ~string](s string, choices ...T) (T, error) {
	names := make([]string, len(choices))
	for i, c := range choices {
		if string(c) == s {
			return c, nil
		}
		names[i] = string(c)
	}
	last := len(names) - 1
	return "", fmt.Errorf("%q: want %s or %s", s, strings.Join(names[:last], ", "), names[last])
}

// Sockets is what the supervisor needs of the listening sockets;
// listen.Set has it all.
type Sockets interface {
	// FDs are a shard's sockets in --listen order: the worker's fds 3, 4,
	// …. Shard i is slot i's, but while a slot rolls its successor serves
	// a fresh shard of its own, numbered above every slot's.
	FDs(shard int) []int
	// Names label them in LISTEN_FDNAMES.
	Names() []string
	// Queued is how many connections wait on the shard's sockets, which
	// only one worker accepts from.
	Queued(shard int) int
	// AddShard binds one more shard and says its number; -1 when no
	// listener has a socket per worker. A fenced shard gets no new
	// connection until the next Steer or Unsteer says otherwise.
	AddShard(fenced bool) (int, error)
	// Steer sends new connections away from the shards of the given
	// slots, or fails without steering when it cannot tell where they are;
	// Unsteer ends that.
	Steer(away ...int) error
	Unsteer() error
	// Refresh follows other processes' sockets joining or leaving the
	// shards' groups, re-steering where needed; each line says what
	// changed.
	Refresh() []string
	// CloseShard closes a shard, and the shards above it move down one
	// number; ReplaceShard closes old and gives its number to fresh. Both
	// say how many connections were still queued on what closed: reset,
	// or moved to another shard.
	CloseShard(shard int) (reset, moved int, err error)
	ReplaceShard(old, fresh int) (reset, moved int, err error)
}

// noSockets is a pool with no listener (a worker that connects out).
type noSockets struct{}

func (noSockets) FDs(int) []int                           { return nil }
func (noSockets) Names() []string                         { return nil }
func (noSockets) Queued(int) int                          { return 0 }
func (noSockets) AddShard(bool) (int, error)              { return -1, nil }
func (noSockets) Steer(...int) error                      { return nil }
func (noSockets) Unsteer() error                          { return nil }
func (noSockets) Refresh() []string                       { return nil }
func (noSockets) CloseShard(int) (int, int, error)        { return 0, 0, nil }
func (noSockets) ReplaceShard(int, int) (int, int, error) { return 0, 0, nil }
