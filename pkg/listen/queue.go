package listen

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Queue is the state of one socket's accept queue.
type Queue struct {
	// Length is how many connections wait to be accepted.
	Length int
	// Capacity is the backlog the kernel allows.
	Capacity int
}

// Queued is how many connections wait on the per-worker shards of slot:
// what that slot's worker alone can drain. Shared sockets are left out,
// since no single worker owns their queue.
func (s *Set) Queued(slot int) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, l := range s.Listeners {
		if l.Shared {
			continue
		}
		if q, err := l.Queue(slot % len(l.fds)); err == nil {
			n += q.Length
		}
	}
	return n
}

// ListenerState is one listener with the queue of each of its sockets.
type ListenerState struct {
	Name, Bound string
	Shared      bool
	// Queues has one entry per socket; nil where the kernel reports none
	// (unix sockets).
	Queues []Queue
}

// State reads every listener's queues at once.
func (s *Set) State() []ListenerState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]ListenerState, len(s.Listeners))
	for i, l := range s.Listeners {
		out[i] = ListenerState{Name: l.Name, Bound: l.Bound, Shared: l.Shared}
		for shard := range l.fds {
			if q, err := l.Queue(shard); err == nil {
				out[i].Queues = append(out[i].Queues, q)
			}
		}
	}
	return out
}

// Netstat holds the network namespace's listen-queue failure counters.
type Netstat struct {
	// ListenOverflows counts connections refused because an accept queue
	// was full; ListenDrops counts every connection dropped at a listener.
	ListenOverflows, ListenDrops uint64
}

// parseNetstat reads the TcpExt lines of /proc/net/netstat: a header line
// of names and a line of values.
func parseNetstat(r io.Reader) (Netstat, error) {
	var names []string
	s := bufio.NewScanner(r)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 0 || fields[0] != "TcpExt:" {
			continue
		}
		if names == nil {
			names = fields
			continue
		}
		return netstatValues(names, fields)
	}
	return Netstat{}, fmt.Errorf("no TcpExt values")
}

func netstatValues(names, values []string) (Netstat, error) {
	var n Netstat
	for i := 1; i < len(names) && i < len(values); i++ {
		var dst *uint64
		switch names[i] {
		case "ListenOverflows":
			dst = &n.ListenOverflows
		case "ListenDrops":
			dst = &n.ListenDrops
		default:
			continue
		}
		v, err := strconv.ParseUint(values[i], 10, 64)
		if err != nil {
			return Netstat{}, fmt.Errorf("TcpExt %s: %w", names[i], err)
		}
		*dst = v
	}
	return n, nil
}
