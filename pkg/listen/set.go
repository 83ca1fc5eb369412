package listen

import (
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Mode says how a TCP listener is shared among the workers.
type Mode string

const (
	// PerWorker binds one SO_REUSEPORT socket per worker slot (a shard), so
	// the kernel spreads new connections over the workers and no accept
	// wakes more than one process.
	PerWorker Mode = "per-worker"
	// Shared binds one socket that every worker accepts on.
	Shared Mode = "shared"
	// Balanced binds as PerWorker does, and shardinit steers new
	// connections away from shards whose worker cannot take one now (a
	// queue that waits, a worker that is busy).
	Balanced Mode = "balanced"
)

// ParseMode checks a --sockets value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case PerWorker, Shared, Balanced:
		return m, nil
	}
	return "", fmt.Errorf("%q: want per-worker, balanced or shared", s)
}

// Options tune every TCP socket that Bind creates. Zero values are the
// defaults.
type Options struct {
	// Mode defaults to PerWorker. Unix sockets are always shared: the
	// kernel does not spread AF_UNIX connections over a reuseport group.
	Mode Mode
	// Backlog is the accept queue length; 0 means net.core.somaxconn.
	Backlog int
	// DeferAccept, when set, wakes a worker only once data has arrived
	// (TCP_DEFER_ACCEPT, rounded up to whole seconds).
	DeferAccept time.Duration
	// FastOpen, when > 0, enables TCP Fast Open with this queue length.
	FastOpen int
	// BindToDevice restricts the sockets to one network interface.
	BindToDevice string
}

// withDefaults gives the zero values their meaning, once per Bind: every
// shard, also one added later, gets the same backlog without another read
// of /proc.
func (o Options) withDefaults() Options {
	if o.Mode == "" {
		o.Mode = PerWorker
	}
	if o.Backlog <= 0 {
		o.Backlog = Somaxconn()
	}
	return o
}

// Listener is one bound listener: a socket per shard, or one shared socket.
type Listener struct {
	Spec
	// Bound is the address actually bound (the port filled in for :0).
	Bound string
	// Shared says that every worker accepts on the one socket.
	Shared bool
	fds    []int
	// target and opts bind each shard (bindShard).
	target tcpTarget
	opts   Options
	// unlink is the socket file to remove on Close (unix sockets only).
	unlink *socketFile
	// group is where fds sit in their SO_REUSEPORT group, and steering
	// the shards that new connections are steered away from (nil: none).
	group    group
	steering []int
	// loaded are the shards load steering sends new connections away
	// from while the pool's steering is off (nil: none).
	loaded []int
}

// Shards is how many sockets the listener holds.
func (l *Listener) Shards() int { return len(l.fds) }

// FD returns the socket that the worker in slot serves.
func (l *Listener) FD(slot int) int {
	if len(l.fds) == 1 {
		return l.fds[0]
	}
	return l.fds[slot%len(l.fds)]
}

// tcpTarget is what one TCP socket is bound to.
type tcpTarget struct {
	addr   netip.AddrPort
	v6only bool
}

// Set is every listener of one shardinit, in --listen order. Its shards
// change when the pool scales, so every method holds its lock.
type Set struct {
	mu        sync.RWMutex
	Listeners []*Listener
}

// FDs returns the sockets for the worker in slot, in --listen order: they
// become its fds 3, 4, ….
func (s *Set) FDs(slot int) []int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fds := make([]int, len(s.Listeners))
	for i, l := range s.Listeners {
		fds[i] = l.FD(slot)
	}
	return fds
}

// Names returns the listener names in --listen order (LISTEN_FDNAMES).
func (s *Set) Names() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, len(s.Listeners))
	for i, l := range s.Listeners {
		names[i] = l.Name
	}
	return names
}

// Close closes every socket and removes the unix socket files it created.
func (s *Set) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for _, l := range s.Listeners {
		if err := l.close(); err != nil && first == nil {
			first = err
		}
	}
	s.Listeners = nil
	return first
}
