package listen

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Bind creates every listener in specs. In PerWorker mode a TCP listener gets
// shards sockets in one SO_REUSEPORT group; otherwise it gets one. On error
// nothing stays bound.
func Bind(specs []Spec, shards int, opts Options) (*Set, error) {
	if shards < 1 {
		shards = 1
	}
	opts = opts.withDefaults()
	set := &Set{}
	for _, spec := range specs {
		l, err := bindListener(spec, shards, opts)
		if err != nil {
			set.Close()
			return nil, fmt.Errorf("listener %s: %w", spec.Name, err)
		}
		set.Listeners = append(set.Listeners, l)
	}
	return set, nil
}

func bindListener(spec Spec, shards int, opts Options) (*Listener, error) {
	if spec.Network == "unix" {
		return bindUnix(spec, opts)
	}
	l := &Listener{Spec: spec, Shared: opts.Mode == Shared, target: targetOf(spec), opts: opts, group: group{known: true}}
	if l.Shared {
		shards = 1
	}
	if err := l.bindShards(shards); err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

// bindShards binds n more sockets for l, looking at its reuseport group
// before (another process's sockets may be there already) and after.
func (l *Listener) bindShards(n int) error {
	if !l.Shared && l.target.addr.Port() != 0 {
		l.refresh(false)
	}
	for range n {
		if err := l.bindShard(); err != nil {
			return err
		}
	}
	if !l.Shared {
		l.refresh(true)
	}
	return nil
}

// bindShard binds one more socket for l: its first at start-up, or the
// next of its reuseport group.
func (l *Listener) bindShard() error {
	fd, err := bindTCP(l.target, !l.Shared, l.opts)
	if err != nil {
		return err
	}
	if len(l.fds) == 0 {
		// Later shards must join the port the first one got for :0.
		l.target.addr = boundAddr(fd, l.target.addr)
		l.Bound = l.target.addr.String()
	}
	l.fds = append(l.fds, fd)
	if !l.Shared {
		l.joined()
	}
	return nil
}

// targetOf picks the address family. An empty host binds every address:
// dual-stack on IPv6 where the kernel has it, IPv4 otherwise.
func targetOf(spec Spec) tcpTarget {
	host, port, _ := splitHostPort(spec.Address)
	p, _ := strconv.ParseUint(port, 10, 16)
	if host != "" {
		ip := netip.MustParseAddr(host)
		return tcpTarget{addr: netip.AddrPortFrom(ip, uint16(p)), v6only: spec.Network == "tcp6"}
	}
	switch {
	case spec.Network == "tcp4" || !kernelHasIPv6():
		return tcpTarget{addr: netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(p))}
	case spec.Network == "tcp6":
		return tcpTarget{addr: netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(p)), v6only: true}
	}
	return tcpTarget{addr: netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(p))}
}

func kernelHasIPv6() bool {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

func bindTCP(t tcpTarget, reuseport bool, opts Options) (int, error) {
	var family int
	var sa unix.Sockaddr
	if ip := t.addr.Addr(); ip.Is4() {
		family, sa = unix.AF_INET, &unix.SockaddrInet4{Port: int(t.addr.Port()), Addr: ip.As4()}
	} else {
		family, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: int(t.addr.Port()), Addr: ip.As16()}
	}
	// Blocking, as systemd hands sockets over: O_NONBLOCK belongs to the
	// open file that every worker shares, so each worker chooses its own.
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, fmt.Errorf("socket for %s: %w", t.addr, err)
	}
	err = tuneTCP(fd, family, t.v6only, reuseport, opts)
	if err == nil {
		err = bindAndListen(fd, sa, t.addr.String(), opts.Backlog)
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func bindAndListen(fd int, sa unix.Sockaddr, addr string, backlog int) error {
	if err := unix.Bind(fd, sa); err != nil {
		return fmt.Errorf("bind %s: %w", addr, err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return nil
}

func tuneTCP(fd, family int, v6only, reuseport bool, opts Options) error {
	type opt struct {
		name       string
		level, key int
		value      int
		wanted     bool
	}
	deferSecs := int((opts.DeferAccept + time.Second - 1) / time.Second)
	for _, o := range []opt{
		{"SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, 1, true},
		{"SO_REUSEPORT", unix.SOL_SOCKET, unix.SO_REUSEPORT, 1, reuseport},
		{"IPV6_V6ONLY", unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, boolInt(v6only), family == unix.AF_INET6},
		{"TCP_DEFER_ACCEPT", unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, deferSecs, deferSecs > 0},
		{"TCP_FASTOPEN", unix.IPPROTO_TCP, unix.TCP_FASTOPEN, opts.FastOpen, opts.FastOpen > 0},
	} {
		if !o.wanted {
			continue
		}
		if err := unix.SetsockoptInt(fd, o.level, o.key, o.value); err != nil {
			return fmt.Errorf("setsockopt %s: %w", o.name, err)
		}
	}
	return bindToDevice(fd, opts.BindToDevice)
}

func bindToDevice(fd int, device string) error {
	if device == "" {
		return nil
	}
	if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, device); err != nil {
		return fmt.Errorf("setsockopt SO_BINDTODEVICE %q: %w", device, err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// boundAddr reads back the port the kernel chose; on failure it keeps the
// asked-for address, which then fails loudly at the next bind.
func boundAddr(fd int, asked netip.AddrPort) netip.AddrPort {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return asked
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(asked.Addr(), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(asked.Addr(), uint16(sa.Port))
	}
	return asked
}

// Somaxconn is the kernel's cap on accept queues, the default backlog.
func Somaxconn() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
			return n
		}
	}
	return 4096
}

func (l *Listener) close() error {
	var first error
	for _, fd := range l.fds {
		if err := unix.Close(fd); err != nil && first == nil {
			first = fmt.Errorf("close %s: %w", l.Name, err)
		}
	}
	l.fds = nil
	if err := l.unlink.remove(); err != nil && first == nil {
		first = err
	}
	return first
}
