package listen

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrBadAddress is wrapped by every error about a listen address that cannot
// be parsed, so that callers can tell bad input from a failed bind.
var ErrBadAddress = errors.New("bad listen address")

// Spec is one listener as the user wrote it: `NAME=ADDR` or just `ADDR`.
type Spec struct {
	// Name is handed to workers in LISTEN_FDNAMES. It defaults to
	// "listen<i>" for the i-th listener (see Specs).
	Name string
	// Network is "tcp" (dual-stack when the host is empty or "::"),
	// "tcp4", "tcp6" (IPv6 only) or "unix".
	Network string
	// Address is "host:port" for TCP and a path (or "@name" for an
	// abstract socket) for unix.
	Address string
}

func (s Spec) String() string {
	if s.Network == "unix" {
		return s.Name + "=unix://" + s.Address
	}
	if s.Network == "tcp" {
		return s.Name + "=" + s.Address
	}
	return s.Name + "=" + s.Network + "://" + s.Address
}

// Specs parses every `--listen` value and fills in default names, so that
// names are unique and each worker can tell its sockets apart.
func Specs(values []string) ([]Spec, error) {
	specs := make([]Spec, 0, len(values))
	seen := map[string]bool{}
	for i, v := range values {
		s, err := ParseSpec(v)
		if err != nil {
			return nil, err
		}
		if s.Name == "" {
			s.Name = "listen" + strconv.Itoa(i)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("%w: listener name %q is used twice", ErrBadAddress, s.Name)
		}
		seen[s.Name] = true
		specs = append(specs, s)
	}
	return specs, nil
}

// ParseSpec parses `NAME=ADDR` or `ADDR`, where ADDR is `:8080`,
// `127.0.0.1:8080`, `[::]:8080`, `tcp4://…`, `tcp6://…`, `tcp://…` or
// `unix:///path`.
func ParseSpec(value string) (Spec, error) {
	name, addr := splitName(value)
	if err := checkName(name); err != nil {
		return Spec{}, fmt.Errorf("%w %q: %v", ErrBadAddress, value, err)
	}
	network, rest := "tcp", addr
	if scheme, after, ok := strings.Cut(addr, "://"); ok {
		network, rest = scheme, after
	}
	var err error
	switch network {
	case "tcp", "tcp4", "tcp6":
		rest, err = checkTCP(network, rest)
	case "unix":
		err = checkUnix(rest)
	default:
		err = fmt.Errorf("unknown scheme %q (want tcp, tcp4, tcp6 or unix)", network)
	}
	if err != nil {
		return Spec{}, fmt.Errorf("%w %q: %v", ErrBadAddress, value, err)
	}
	return Spec{Name: name, Network: network, Address: rest}, nil
}

// ParseTCP reads host:port, where host is an IP address, localhost or
// empty (every address), as a "tcp" Spec without a name, and never asks a
// resolver. Its errors are the detail alone, for callers that name the
// setting themselves (the health address).
func ParseTCP(hostport string) (Spec, error) {
	addr, err := checkTCP("tcp", hostport)
	if err != nil {
		return Spec{}, err
	}
	return Spec{Network: "tcp", Address: addr}, nil
}

// splitName takes NAME off `NAME=ADDR`. A '=' that comes after a ':' or '/'
// belongs to the address (a unix path may contain one).
func splitName(value string) (name, addr string) {
	i := strings.IndexByte(value, '=')
	if i < 0 || strings.ContainsAny(value[:i], ":/") {
		return "", value
	}
	return value[:i], value[i+1:]
}

// checkName keeps names to what LISTEN_FDNAMES and metric labels can carry.
func checkName(name string) error {
	for _, r := range name {
		ok := r == '-' || r == '_' || r == '.' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return fmt.Errorf("listener name %q may hold only letters, digits, '-', '_' and '.'", name)
		}
	}
	if len(name) > 255 {
		return fmt.Errorf("listener name is longer than 255 bytes")
	}
	return nil
}

// checkTCP validates host:port and returns it with "localhost" spelled as
// the address it stands for, so that bind never depends on a resolver.
func checkTCP(network, hostport string) (string, error) {
	host, port, err := splitHostPort(hostport)
	if err != nil {
		return "", err
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	if host == "" {
		return hostport, nil
	}
	if host == "localhost" {
		host = "127.0.0.1"
		if network == "tcp6" {
			host = "::1"
		}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return "", fmt.Errorf("host %q is not an IP address (names other than localhost are not resolved)", host)
	}
	if network == "tcp4" && !ip.Is4() {
		return "", fmt.Errorf("host %s is not an IPv4 address", host)
	}
	if network == "tcp6" && !ip.Is6() {
		return "", fmt.Errorf("host %s is not an IPv6 address", host)
	}
	return netip.AddrPortFrom(ip, uint16(n)).String(), nil
}

func splitHostPort(hostport string) (host, port string, err error) {
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 {
		return "", "", fmt.Errorf("missing port (want host:port or :port)")
	}
	host, port = hostport[:i], hostport[i+1:]
	if strings.HasPrefix(host, "[") != strings.HasSuffix(host, "]") {
		return "", "", fmt.Errorf("unbalanced brackets in %q", hostport)
	}
	if strings.HasPrefix(host, "[") {
		host = host[1 : len(host)-1]
		if host == "" {
			return "", "", fmt.Errorf("empty brackets in %q (for every address use :port)", hostport)
		}
	} else if strings.Contains(host, ":") {
		return "", "", fmt.Errorf("IPv6 host must be in brackets, as [::1]:8080")
	}
	return host, port, nil
}

func checkUnix(path string) error {
	switch {
	case path == "" || path == "@":
		return fmt.Errorf("missing socket path (want unix:///path/to.sock or unix://@name)")
	case len(path) > 107:
		return fmt.Errorf("socket path is longer than 107 bytes")
	case !strings.HasPrefix(path, "/") && !strings.HasPrefix(path, "@"):
		return fmt.Errorf("socket path %q must be absolute (unix:///path) or abstract (unix://@name)", path)
	}
	return nil
}
