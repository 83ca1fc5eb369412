package listen

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Scaling changes the per-worker listeners' SO_REUSEPORT groups. A group
// keeps its sockets in the order they joined (bind order), which is shard
// order; closing the last one moves no other, which is why scaling down
// always removes the highest shard.

// AddShard binds one more socket for every per-worker listener; it joins
// the end of its group. On error nothing was added.
func (s *Set) AddShard() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var added []*Listener
	for _, l := range s.Listeners {
		if l.Shared {
			continue
		}
		if err := l.bindShard(); err != nil {
			for _, a := range added {
				unix.Close(a.fds[len(a.fds)-1])
				a.fds = a.fds[:len(a.fds)-1]
			}
			return fmt.Errorf("listener %s: add a shard: %w", l.Name, err)
		}
		added = append(added, l)
	}
	return nil
}

// Steer sends new connections only to the first keep shards of every
// per-worker listener: a classic BPF program on the group picks a socket
// at random among them (SO_ATTACH_REUSEPORT_CBPF, no privilege needed).
// Connections already queued on the others stay there.
func (s *Set) Steer(keep int) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: skfAdRandom},
		{Code: unix.BPF_ALU | unix.BPF_MOD | unix.BPF_K, K: uint32(keep)},
		{Code: unix.BPF_RET | unix.BPF_A},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	for _, l := range s.Listeners {
		if l.Shared || len(l.fds) <= keep {
			continue
		}
		if err := unix.SetsockoptSockFprog(l.fds[0], unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &fprog); err != nil {
			return fmt.Errorf("listener %s: setsockopt SO_ATTACH_REUSEPORT_CBPF: %w", l.Name, err)
		}
	}
	return nil
}

// skfAdRandom is SKF_AD_OFF + SKF_AD_RANDOM (linux/filter.h, which x/sys
// does not name): classic BPF's load of a random number.
const skfAdRandom = 0xfffff000 + 56

// Unsteer gives the kernel back its own spreading over every shard.
func (s *Set) Unsteer() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, l := range s.Listeners {
		if l.Shared {
			continue
		}
		err := unix.SetsockoptInt(l.fds[0], unix.SOL_SOCKET, unix.SO_DETACH_REUSEPORT_BPF, 0)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("listener %s: setsockopt SO_DETACH_REUSEPORT_BPF: %w", l.Name, err)
		}
	}
	return nil
}

// CloseLastShard closes the highest shard of every per-worker listener
// and reports how many connections were still queued on them: those are
// reset, unless net.ipv4.tcp_migrate_req moves them to another shard.
func (s *Set) CloseLastShard() (queued int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.Listeners {
		if l.Shared || len(l.fds) < 2 {
			continue
		}
		last := len(l.fds) - 1
		if q, qerr := l.Queue(last); qerr == nil {
			queued += q.Length
		}
		if cerr := unix.Close(l.fds[last]); cerr != nil && err == nil {
			err = fmt.Errorf("listener %s: close shard %d: %w", l.Name, last, cerr)
		}
		l.fds = l.fds[:last]
	}
	return queued, err
}
