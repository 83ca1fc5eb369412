package spawn

import (
	"io"
	"log/slog"
	"os"
	"syscall"
	"time"
)

// Config describes the pool. Zero values take the defaults noted on each
// field (see withDefaults).
type Config struct {
	// Command is the worker's argv.
	Command []string
	// Path is the executable. Default: Command[0] looked up in PATH.
	Path string
	// Workers is the number of slots. Default 1.
	Workers int
	// Sockets returns the listening sockets of a slot in --listen order;
	// they become the worker's fds 3, 4, …. Default: none.
	Sockets func(slot int) []int
	// SocketNames label those sockets in LISTEN_FDNAMES.
	SocketNames []string
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
	// RestartWindow before shardinit gives up. Default 0: unlimited.
	MaxRestarts int
	// RestartWindow is the span MaxRestarts counts over. Default 1m.
	RestartWindow time.Duration
	// Logger receives lifecycle events. Default: discarded.
	Logger *slog.Logger
	// OnChange, if set, is called from the supervisor's goroutine with a
	// new snapshot whenever a slot or the phase changes. It must not block.
	OnChange func(Status)
}

func withDefaults(c Config) Config {
	c.Workers = max(c.Workers, 1)
	if c.Sockets == nil {
		c.Sockets = func(int) []int { return nil }
	}
	if c.Env == nil {
		c.Env = os.Environ()
	}
	if c.StopSignal == 0 {
		c.StopSignal = syscall.SIGTERM
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = 10 * time.Second
	}
	if c.Restart == "" {
		c.Restart = Always
	}
	if c.RestartWindow <= 0 {
		c.RestartWindow = time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}
