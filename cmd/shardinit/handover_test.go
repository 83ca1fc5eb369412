package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// netns reaches one network namespace from the test: sockets are made in
// the namespace of the thread that creates them, so every dial moves a
// locked thread there for the socket call and back.
type netns struct {
	t    *testing.T
	path string
}

func (ns netns) dial(ctx context.Context, network, addr string) (conn net.Conn, err error) {
	var d net.Dialer
	if verr := visitNetns(ns.path, func() { conn, err = d.DialContext(ctx, network, addr) }); verr != nil {
		return conn, verr
	}
	return conn, err
}

func (ns netns) client() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: ns.dial, DisableKeepAlives: true}}
}

// probe is the health server at addr, reached in the namespace.
func (ns netns) probe(addr string) probe { return probe{ns.t, addr, ns.client()} }

// sysctl writes a net sysctl of the namespace: /proc/sys/net shows the
// namespace of the thread that looks.
func (ns netns) sysctl(name, value string) {
	ns.t.Helper()
	var err error
	if verr := visitNetns(ns.path, func() {
		err = os.WriteFile("/proc/sys/"+strings.ReplaceAll(name, ".", "/"), []byte(value), 0o644)
	}); verr != nil {
		err = verr
	}
	if err != nil {
		ns.t.Fatalf("sysctl %s=%s: %v", name, value, err)
	}
}

// serves waits until every slot of the shardinit whose health server is at
// health has a worker answering on addr.
func (ns netns) serves(health, addr string, slots int) {
	ns.t.Helper()
	eventually(ns.t, 15*time.Second, fmt.Sprintf("%d workers serving behind %s", slots, health), func() bool {
		r, err := ns.probe(health).report()
		if err != nil || len(r.Slots) != slots || !r.Ready {
			return false
		}
		for _, sl := range r.Slots {
			if sl.PID == 0 || sl.Successor != 0 || len(sl.Retiring) > 0 {
				return false
			}
		}
		resp, err := ns.client().Get("http://" + addr + "/")
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// Two shardinits share a port, as two pods on one node's network do with
// the chart's shareHostPorts: B starts beside A, then A stops. B's sockets
// then sit in their group in an order B did not choose (A's closes moved
// them). A scale-down of B afterwards must still steer new connections
// away from exactly the leaving shard: none is reset, whatever
// net.ipv4.tcp_migrate_req says, and the loss counter says so.
func TestHandoverThenScaleDown(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("a network namespace of the test's own needs root")
	}
	for _, migrate := range []string{"0", "1"} {
		t.Run("tcp_migrate_req="+migrate, func(t *testing.T) { handoverThenScaleDown(t, migrate) })
	}
}

func handoverThenScaleDown(t *testing.T, migrate string) {
	const addr, healthA, healthB = "127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082"
	flags := func(health string) []string {
		return append([]string{"--workers", "4", "--max-workers", "4", "--listen", "http=" + addr, "--health-addr", health,
			"--drain-delay", "0s", "--"}, worker("http")...)
	}
	a := startShardinit(t, start{launch: []string{"launch-in-netns"}}, flags(healthA)...)
	eventually(t, 10*time.Second, "shardinit A to start", func() bool { return strings.Contains(a.log.String(), "msg=starting") })
	ns := netns{t, fmt.Sprintf("/proc/%d/ns/net", a.cmd.Process.Pid)}
	ns.sysctl("net.ipv4.tcp_migrate_req", migrate)
	ns.serves(healthA, addr, 4)
	b := startShardinit(t, start{launch: []string{"launch-in-netns-of", strconv.Itoa(a.cmd.Process.Pid)}}, flags(healthB)...)
	ns.serves(healthB, addr, 4)
	ns.path = fmt.Sprintf("/proc/%d/ns/net", b.cmd.Process.Pid) // it outlives A

	a.signal(syscall.SIGTERM)
	if code := a.wait(30 * time.Second); code != 0 {
		t.Fatalf("shardinit A exited %d, want 0", code)
	}
	l := startLoadVia(t, ns.dial, addr, 4, time.Minute)
	eventually(t, 10*time.Second, "load to be answered", func() bool { return l.ok.Load() > 100 })
	b.signal(syscall.SIGTTOU)
	eventually(t, 30*time.Second, "B to scale down to 3 slots", func() bool {
		r, err := ns.probe(healthB).report()
		return err == nil && len(r.Slots) == 3
	})
	answered := l.ok.Load()
	eventually(t, 10*time.Second, "more load after the scale-down", func() bool { return l.ok.Load() > answered+100 })
	l.finish()
	t.Logf("tcp_migrate_req=%s: %s", migrate, l)
	if l.failed.Load() > 0 {
		t.Errorf("tcp_migrate_req=%s: %s, want none failed", migrate, l)
	}
	if lost := sample(ns.probe(healthB).metrics()["shardinit_lost_connections_total"]); lost != 0 {
		t.Errorf("tcp_migrate_req=%s: shardinit_lost_connections_total = %v, want 0", migrate, lost)
	}
	if strings.Contains(b.log.String(), "still queued") {
		t.Errorf("tcp_migrate_req=%s: B reported queued connections at the close", migrate)
	}
	// A's four closes moved B's shards from 4..7 to 3, 2, 1, 0, and B
	// learned that by probing before it steered.
	const order = "shards at [3 2 1 0] of the 4 sockets in the group (probed)"
	if !strings.Contains(b.log.String(), order) {
		t.Errorf("tcp_migrate_req=%s: B's log does not say %q:\n%s", migrate, order, b.log.String())
	}
	b.stopCleanly()
}
