package listen

import (
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// Probing finds where each of a listener's sockets sits in its group. For
// every index k of the group, a connection from this process is sent to k
// by a program that knows the connection by its source port; every other
// connection is steered as before. To tell which socket took it, each of
// the listener's sockets clamps the MSS of the handshakes it answers
// (TCP_MAXSEG) to a value of its own for the moment of the probe, and the
// connecting side reads the MSS back. The values lie above what any
// Ethernet or jumbo-frame path carries, so only a loopback connection made
// in that moment gets a smaller MSS; a socket of another process answers
// with its own. Each probe is an empty connection that the worker behind
// index k accepts and sees closed, as it sees a port check.

const (
	mssBase    = 9000 // above a 9000-byte jumbo frame's MSS of 8960
	mssStep    = 48   // more than the 40 bytes of TCP options the MSS may lose
	maxProbed  = 256  // sockets in a group that a probe covers
	probeLimit = time.Second
)

// probe learns the order of l's group, then puts l's steering back on it,
// built from what it learned (or takes it off, if it learned nothing).
func (l *Listener) probe() {
	g := &l.group
	g.probes++
	pos, err := l.probeOrder(l.groupSize())
	if err != nil {
		g.known, g.why = false, err.Error()
	} else {
		g.pos, g.known, g.why = pos, true, ""
	}
	if err := l.attach(); err != nil && g.known {
		g.known, g.why = false, err.Error()
	}
}

func (l *Listener) probeOrder(n int) ([]int, error) {
	switch {
	case len(l.fds) == 0:
		return nil, nil
	case n < len(l.fds) || n > maxProbed:
		return nil, fmt.Errorf("a group of %d sockets with %d of ours cannot be probed", n, len(l.fds))
	case l.opts.BindToDevice != "" && l.opts.BindToDevice != "lo":
		return nil, fmt.Errorf("bound to device %s, the group cannot be probed from loopback", l.opts.BindToDevice)
	}
	to := probeTarget(l.target.addr)
	clients, ports, err := probeClients(to.Addr(), n)
	defer closeFDs(clients)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	// Every socket's clamp goes, also if setting one failed half-way.
	defer func() {
		for _, fd := range l.fds {
			unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_MAXSEG, 0)
		}
	}()
	for shard, fd := range l.fds {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_MAXSEG, mssBase+mssStep*shard); err != nil {
			return nil, fmt.Errorf("probe: setsockopt TCP_MAXSEG: %w", err)
		}
	}
	mss, err := l.probeConnect(clients, ports, to)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	return l.decode(mss)
}

// probeTarget is where a connection from this host reaches the group.
func probeTarget(bound netip.AddrPort) netip.AddrPort {
	ip := bound.Addr()
	switch {
	case ip == netip.IPv4Unspecified():
		ip = netip.MustParseAddr("127.0.0.1")
	case ip == netip.IPv6Unspecified():
		ip = netip.IPv6Loopback()
	}
	return netip.AddrPortFrom(ip, bound.Port())
}

// probeClients makes n sockets bound to ip, and says their ports.
func probeClients(ip netip.Addr, n int) (fds []int, ports []uint16, err error) {
	for range n {
		fd, err := unix.Socket(familyOf(ip), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
		if err != nil {
			return fds, nil, err
		}
		fds = append(fds, fd)
		if err := unix.Bind(fd, sockaddr(netip.AddrPortFrom(ip, 0))); err != nil {
			return fds, nil, err
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return fds, nil, err
		}
		ports = append(ports, uint16(sockaddrPort(sa)))
	}
	return fds, ports, nil
}

// probeConnect sends client k to index k and reads the MSS each got; 0
// where the handshake did not complete in time.
func (l *Listener) probeConnect(clients []int, ports []uint16, to netip.AddrPort) ([]int, error) {
	if err := l.attachWith(ports); err != nil {
		return nil, err
	}
	for _, fd := range clients {
		if err := unix.Connect(fd, sockaddr(to)); err != nil && err != unix.EINPROGRESS {
			return nil, fmt.Errorf("connect %s: %w", to, err)
		}
	}
	if err := waitWritable(clients, time.Now().Add(probeLimit)); err != nil {
		return nil, err
	}
	mss := make([]int, len(clients))
	for k, fd := range clients {
		if soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || soerr != 0 {
			continue
		}
		mss[k], _ = unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_MAXSEG)
	}
	return mss, nil
}

// decode turns the MSS that index k answered with into the shard at k.
func (l *Listener) decode(mss []int) ([]int, error) {
	pos := make([]int, len(l.fds))
	for i := range pos {
		pos[i] = -1
	}
	for k, v := range mss {
		shard := (v + mssStep - 1 - mssBase) / mssStep
		if v < mssBase-mssStep || shard < 0 || shard >= len(l.fds) || mssBase+mssStep*shard-v > 40 {
			continue // another process's socket
		}
		if pos[shard] >= 0 {
			return nil, fmt.Errorf("probe: shard %d answered at index %d and %d", shard, pos[shard], k)
		}
		pos[shard] = k
	}
	for shard, k := range pos {
		if k < 0 {
			return nil, fmt.Errorf("probe: shard %d answered at no index of %d", shard, len(mss))
		}
	}
	return pos, nil
}

func waitWritable(fds []int, deadline time.Time) error {
	pending := map[int]bool{}
	for _, fd := range fds {
		pending[fd] = true
	}
	for len(pending) > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%d of %d probe connections not answered within %s", len(pending), len(fds), probeLimit)
		}
		pfds := make([]unix.PollFd, 0, len(pending))
		for fd := range pending {
			pfds = append(pfds, unix.PollFd{Fd: int32(fd), Events: unix.POLLOUT})
		}
		if _, err := unix.Poll(pfds, int(left.Milliseconds())+1); err != nil && err != unix.EINTR {
			return fmt.Errorf("poll: %w", err)
		}
		for _, p := range pfds {
			if p.Revents != 0 {
				delete(pending, int(p.Fd))
			}
		}
	}
	return nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

func familyOf(ip netip.Addr) int {
	if ip.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

func sockaddrPort(sa unix.Sockaddr) int {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return sa.Port
	case *unix.SockaddrInet6:
		return sa.Port
	}
	return 0
}
