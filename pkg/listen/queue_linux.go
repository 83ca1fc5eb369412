package listen

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Queue reads the accept queue of one shard. On a listening socket the
// kernel's TCP_INFO reports the queued connections as tcpi_unacked and the
// backlog as tcpi_sacked.
func (l *Listener) Queue(shard int) (Queue, error) {
	if l.Network == "unix" {
		return Queue{}, fmt.Errorf("queue of %s: %w for unix sockets", l.Name, errors.ErrUnsupported)
	}
	if shard < 0 || shard >= len(l.fds) {
		return Queue{}, fmt.Errorf("queue of %s: no shard %d", l.Name, shard)
	}
	info, err := unix.GetsockoptTCPInfo(l.fds[shard], unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return Queue{}, fmt.Errorf("getsockopt TCP_INFO on %s shard %d: %w", l.Name, shard, err)
	}
	return Queue{Length: int(info.Unacked), Capacity: int(info.Sacked)}, nil
}

// MigratesOnClose reports whether this network namespace moves the
// connections queued on a listener that closes to another socket of its
// SO_REUSEPORT group (net.ipv4.tcp_migrate_req, Linux 5.14) instead of
// resetting them.
func MigratesOnClose() bool {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_migrate_req")
	return err == nil && strings.TrimSpace(string(b)) != "0"
}

// ReadNetstat reads the namespace's counters from /proc/net/netstat.
func ReadNetstat() (Netstat, error) {
	f, err := os.Open("/proc/net/netstat")
	if err != nil {
		return Netstat{}, fmt.Errorf("read netstat: %w", err)
	}
	defer f.Close()
	n, err := parseNetstat(f)
	if err != nil {
		return Netstat{}, fmt.Errorf("parse /proc/net/netstat: %w", err)
	}
	return n, nil
}
