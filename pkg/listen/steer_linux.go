package listen

import (
	"errors"
	"fmt"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Steering attaches a classic BPF program to a per-worker listener's
// group (SO_ATTACH_REUSEPORT_CBPF, no privilege needed): it returns the
// index of the socket a new connection goes to, and an index past the end
// gives the kernel its own spreading back. There is one program per group:
// another process that shares the group (a shardinit beside this one)
// replaces it when it steers.

// Steer sends new connections away from the shards of the given slots, at
// random over every other socket of each per-worker listener's group
// (another process's sockets too). Connections already queued on those
// shards stay there. It refuses with ErrOrderUnknown, and steers nothing,
// when a listener cannot tell where its shards sit in the group.
func (s *Set) Steer(away ...int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.Listeners {
		if l.Shared {
			continue
		}
		if ch := l.refresh(false); !ch.known {
			s.unsteer()
			return fmt.Errorf("listener %s: %w: %s", l.Name, ErrOrderUnknown, ch.why)
		}
		l.steering, l.loaded = slices.Clone(away), nil
		if err := l.attach(); err != nil {
			s.unsteer()
			return err
		}
	}
	return nil
}

// Unsteer gives the kernel back its own spreading over every shard.
func (s *Set) Unsteer() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unsteer()
}

func (s *Set) unsteer() error {
	var first error
	for _, l := range s.Listeners {
		if l.Shared {
			continue
		}
		l.steering, l.loaded = nil, nil
		if err := l.attach(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// attach puts l's steering on its group, or takes it off.
func (l *Listener) attach() error { return l.attachWith(nil) }

// attachWith puts l's steering on its group, behind a probe that sends
// the connection from source port probes[k] to index k.
func (l *Listener) attachWith(probes []uint16) error {
	if len(l.fds) == 0 {
		return nil
	}
	// Steering built from an order that is not known would guess.
	if (l.steering == nil && l.loaded == nil || !l.group.known) && probes == nil {
		err := unix.SetsockoptInt(l.fds[0], unix.SOL_SOCKET, unix.SO_DETACH_REUSEPORT_BPF, 0)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("listener %s: setsockopt SO_DETACH_REUSEPORT_BPF: %w", l.Name, err)
		}
		return nil
	}
	// No index is avoided while a probe runs for an order not known.
	prog := append(probeProgram(probes), spreadProgram(l.groupSize(), l.steerIndices())...)
	return l.attachProgram(prog)
}

func (l *Listener) attachProgram(prog []unix.SockFilter) error {
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	if err := unix.SetsockoptSockFprog(l.fds[0], unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &fprog); err != nil {
		return fmt.Errorf("listener %s: setsockopt SO_ATTACH_REUSEPORT_CBPF: %w", l.Name, err)
	}
	return nil
}

const (
	// skfAdRandom and skfNetOff are SKF_AD_OFF + SKF_AD_RANDOM and
	// SKF_NET_OFF (linux/filter.h, which x/sys does not name): classic
	// BPF's load of a random number, and the base of loads from the IP
	// header (the program's own data starts past the TCP header).
	skfAdRandom = 0xfffff000 + 56
	skfNetOff   = 0xfff00000
	// noIndex is past every group's end: the kernel spreads by its hash.
	noIndex = 0xffffffff
)

// fence steers l's group as it is, over the sockets in it now and away
// from what l steers away from, so that a socket joining at its end gets
// nothing. Where the order is not known it does nothing: the steering
// that follows will refuse.
func (l *Listener) fence() {
	if len(l.fds) == 0 {
		return
	}
	if ch := l.refresh(false); !ch.known {
		return
	}
	prog := pickProgram(l.groupSize(), l.awayIndices())
	if prog == nil {
		return
	}
	l.attachProgram(prog) // a failure shows again in the steering that follows
}

// fenceClose steers l's group, before shard closes, over the indices that
// stay valid afterwards: the closing socket's index and the last one (whose
// socket moves into that place) are avoided with everything l steers away
// from, until the steering that follows knows the new order. A program
// built for the larger group could return the last index once the group
// has shrunk, and the kernel answers an index out of range with its own
// hash over every socket: a steered-away one, whose worker is stopping,
// would be handed a new connection and reset it.
func (l *Listener) fenceClose(shard int) {
	if l.steering == nil || !l.group.known || shard >= len(l.group.pos) {
		return
	}
	size := l.groupSize()
	away := append(l.awayIndices(), l.group.pos[shard])
	away = slices.DeleteFunc(away, func(i int) bool { return i >= size-1 })
	if prog := pickProgram(size-1, away); prog != nil {
		l.attachProgram(prog) // a failure shows in the steering that follows
	}
}

// awayIndices are the group indices of the shards l steers away from.
func (l *Listener) awayIndices() []int {
	var away []int
	for _, shard := range l.steering {
		if l.group.known && shard >= 0 && shard < len(l.group.pos) {
			away = append(away, l.group.pos[shard])
		}
	}
	return away
}

// steerIndices are what l's program avoids: the pool's steering, else
// the load's (which the pool's replaces while it steers).
func (l *Listener) steerIndices() []int {
	if l.steering != nil {
		return l.awayIndices()
	}
	var away []int
	for _, shard := range l.loaded {
		if shard >= 0 && shard < len(l.group.pos) {
			away = append(away, l.group.pos[shard])
		}
	}
	return away
}

// spreadProgram picks an index at random among the size of a group, but
// none of away. With nothing to avoid it leaves the choice to the kernel.
func spreadProgram(size int, away []int) []unix.SockFilter {
	if len(away) > 0 {
		if prog := pickProgram(size, away); prog != nil {
			return prog
		}
	}
	return []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: noIndex}}
}

// pickProgram picks an index at random among the first size of a group,
// but none of away: r = random % (size - len(away)), then r steps over
// each excluded index in ascending order; nil when that leaves none.
func pickProgram(size int, away []int) []unix.SockFilter {
	away = slices.Compact(slices.Sorted(slices.Values(away)))
	if len(away) >= size {
		return nil
	}
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: skfAdRandom},
		{Code: unix.BPF_ALU | unix.BPF_MOD | unix.BPF_K, K: uint32(size - len(away))},
	}
	for _, index := range away {
		prog = append(prog,
			unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, K: uint32(index), Jt: 0, Jf: 1},
			unix.SockFilter{Code: unix.BPF_ALU | unix.BPF_ADD | unix.BPF_K, K: 1})
	}
	return append(prog, unix.SockFilter{Code: unix.BPF_RET | unix.BPF_A})
}

// probeProgram sends a connection whose source port is ports[k] to index
// k and lets every other through to what follows. The source port is read
// from the IP header of either version (a dual-stack socket takes both),
// assuming no IPv4 options or IPv6 extension headers, which a loopback
// connection of our own does not have.
func probeProgram(ports []uint16) []unix.SockFilter {
	if len(ports) == 0 {
		return nil
	}
	jumpPast := uint32(2 * len(ports)) // the port comparisons
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_B | unix.BPF_ABS, K: skfNetOff},
		{Code: unix.BPF_ALU | unix.BPF_RSH | unix.BPF_K, K: 4},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: 4, Jt: 0, Jf: 2},
		{Code: unix.BPF_LD | unix.BPF_H | unix.BPF_ABS, K: skfNetOff + 20},
		{Code: unix.BPF_JMP | unix.BPF_JA, K: 3},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: 6, Jt: 1, Jf: 0},
		{Code: unix.BPF_JMP | unix.BPF_JA, K: 1 + jumpPast},
		{Code: unix.BPF_LD | unix.BPF_H | unix.BPF_ABS, K: skfNetOff + 40},
	}
	for k, port := range ports {
		prog = append(prog,
			unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: uint32(port), Jt: 0, Jf: 1},
			unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: uint32(k)})
	}
	return prog
}
