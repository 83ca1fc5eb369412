package listen

import (
	"slices"

	"golang.org/x/sys/unix"
)

// Load steering (--sockets balanced) steers new connections away from the
// shards whose worker cannot take one now. It gives way to the pool's own
// steering: while a roll, a handover or a scale-down steers (Steer), load
// steering is off and what it asked for is forgotten.

// ShardFDs lists, per shard, its sockets of every per-worker listener:
// what a watcher of new connections waits on.
func (s *Set) ShardFDs() [][]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out [][]int
	for _, l := range s.Listeners {
		if l.Shared {
			continue
		}
		for shard, fd := range l.fds {
			if shard == len(out) {
				out = append(out, nil)
			}
			out[shard] = append(out[shard], fd)
		}
	}
	return out
}

// Waiting counts, per shard below n, the connections waiting to be
// accepted on its sockets of every per-worker listener, and says how many
// sockets it read.
func (s *Set) Waiting(n int, counts []int) (reads int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	clear(counts)
	for _, l := range s.Listeners {
		if l.Shared {
			continue
		}
		for shard := range min(n, len(l.fds), len(counts)) {
			reads++
			if info, err := unix.GetsockoptTCPInfo(l.fds[shard], unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
				counts[shard] += int(info.Unacked)
			}
		}
	}
	return reads
}

// SteerLoad sends new connections away from the given shards, at random
// over the others, and gives the kernel its own spreading back when away
// is empty. It does nothing on a listener the pool steers, or whose place
// of its shards in the group is not known, and says how many listeners it
// changed.
func (s *Set) SteerLoad(away []int) (changed int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.Listeners {
		if l.Shared || l.steering != nil || !l.group.known || slices.Equal(l.loaded, away) {
			continue
		}
		l.loaded = slices.Clone(away)
		if len(away) == 0 {
			l.loaded = nil
		}
		changed++
		if e := l.attach(); e != nil && err == nil {
			err = e
		}
	}
	return changed, err
}

// dropLoad takes load steering off before l's shards change: the indices
// it avoids would name other shards afterwards.
func (l *Listener) dropLoad() {
	if l.loaded != nil {
		l.loaded = nil
		l.attach() // a failure shows in the steering that follows
	}
}
