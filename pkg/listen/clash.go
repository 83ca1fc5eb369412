package listen

import (
	"fmt"
	"net/netip"
	"strconv"
)

// Clash is nil unless a and b would take the same port on a common local
// address, or the same socket path. Bound with SO_REUSEPORT, both would
// succeed and join one group, so that the kernel spreads the connections
// meant for one listener over the workers' sockets of both. Port 0 (any
// port) clashes with nothing.
func Clash(a, b Spec) error {
	if a.Network == "unix" || b.Network == "unix" {
		if a.Network == b.Network && a.Address == b.Address {
			return fmt.Errorf("both on socket %s", a.Address)
		}
		return nil
	}
	sa, okA := scopeOf(a)
	sb, okB := scopeOf(b)
	if okA && okB && sa.meets(sb) {
		return fmt.Errorf("both on port %d", sa.port)
	}
	return nil
}

// scope is where a TCP listener takes its port: every IPv4 address, every
// IPv6 address, both, or one address.
type scope struct {
	port       uint16
	any4, any6 bool
	ip         netip.Addr // when it is one address
}

// scopeOf reads a Spec as ParseSpec makes it (the host an IP address or
// empty); false for one that is not, or for port 0.
func scopeOf(s Spec) (scope, bool) {
	host, port, err := splitHostPort(s.Address)
	if err != nil {
		return scope{}, false
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return scope{}, false
	}
	sc := scope{port: uint16(p)}
	if host == "" {
		// Dual-stack for tcp, as targetOf binds it (IPv4 only on a kernel
		// without IPv6, which is less).
		sc.any4, sc.any6 = s.Network != "tcp6", s.Network != "tcp4"
		return sc, true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return scope{}, false
	}
	switch ip = ip.Unmap(); {
	case ip == netip.IPv4Unspecified():
		sc.any4 = true
	case ip == netip.IPv6Unspecified():
		sc.any4, sc.any6 = s.Network == "tcp", true // [::] is dual-stack but for tcp6
	default:
		sc.ip = ip
	}
	return sc, true
}

func (a scope) meets(b scope) bool {
	switch {
	case a.port != b.port:
		return false
	case a.ip.IsValid():
		return b.covers(a.ip)
	case b.ip.IsValid():
		return a.covers(b.ip)
	}
	return a.any4 && b.any4 || a.any6 && b.any6
}

func (s scope) covers(ip netip.Addr) bool {
	if ip.Is4() {
		return s.any4 || s.ip == ip
	}
	return s.any6 || s.ip == ip
}
