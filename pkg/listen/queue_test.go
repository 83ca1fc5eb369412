package listen

import (
	"net"
	"strings"
	"testing"
	"time"
)

func TestParseNetstat(t *testing.T) {
	in := `TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPMigrateReqSuccess
TcpExt: 0 17 21 0
IpExt: InNoRoutes
IpExt: 0
`
	got, err := parseNetstat(strings.NewReader(in))
	if err != nil || got != (Netstat{ListenOverflows: 17, ListenDrops: 21}) {
		t.Errorf("parseNetstat = %+v, %v; want 17 overflows, 21 drops", got, err)
	}
	if _, err := parseNetstat(strings.NewReader("IpExt: a\nIpExt: 1\n")); err == nil {
		t.Errorf("parseNetstat without TcpExt: got no error")
	}
}

// Connections nobody accepts show in their shard's queue, and only there.
func TestQueueCountsWaitingConnections(t *testing.T) {
	set, err := Bind([]Spec{{Name: "web", Network: "tcp4", Address: "127.0.0.1:0"}}, 2, Options{Backlog: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	l := set.Listeners[0]
	const n = 8
	for range n {
		c, err := net.Dial("tcp", l.Bound)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	total := 0
	for total != n && time.Now().Before(deadline) {
		total = set.Queued(0) + set.Queued(1)
	}
	if total != n {
		t.Fatalf("queued %d over both shards, want %d", total, n)
	}
	q, err := l.Queue(0)
	if err != nil || q.Capacity != 64 {
		t.Errorf("Queue(0) = %+v, %v; want capacity 64", q, err)
	}
	if _, err := l.Queue(2); err == nil {
		t.Errorf("Queue(2) of 2 shards: got no error")
	}
}
