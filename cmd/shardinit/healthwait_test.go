package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// holdPort listens on a fresh 127.0.0.1 port, as the shardinit of the pod
// being replaced holds its health port, until the test ends or closes it.
func holdPort(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// With --health-wait, a health port in use does not stop the workers from
// serving; shardinit takes the port once it is free, and /readyz answers.
func TestHealthWaitTakesPortWhenFree(t *testing.T) {
	t.Parallel()
	holder := holdPort(t)
	p := probe{t, holder.Addr().String(), client}
	in, port := startPool(t, start{}, 2, append(p.flag(), "--health-wait", "30s"), "http")
	if !strings.Contains(in.log.String(), "health address in use; waiting for it") {
		t.Errorf("log does not say the health address is in use:\n%s", in.log.String())
	}
	slotPIDs(t, port, 2) // both workers serve while the port is still held
	holder.Close()
	p.waitCode("/readyz", http.StatusOK)
	if !strings.Contains(in.log.String(), "health address bound") {
		t.Errorf("log does not say the health address was bound")
	}
	in.stopCleanly()
}

// A health port still in use after --health-wait stops the pool the normal
// way; shardinit exits 1 with one line that names the port.
func TestHealthWaitGivesUp(t *testing.T) {
	t.Parallel()
	holder := holdPort(t)
	// Workers inherit the tag, so any left behind can be found afterwards.
	tag := fmt.Sprintf("HEALTHWAIT_TEST_TAG=%d-%d", os.Getpid(), time.Now().UnixNano())
	began := time.Now()
	in := startShardinit(t, start{env: []string{tag}}, append([]string{"--workers", "2",
		"--listen", listenArg("http", freePort(t)), "--health-addr", holder.Addr().String(), "--health-wait", "1s", "--"},
		worker("http")...)...)
	if code := in.wait(15 * time.Second); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if took := time.Since(began); took < time.Second {
		t.Errorf("exited %s after start, before --health-wait 1s", took)
	}
	log := in.log.String()
	want := fmt.Sprintf("shardinit: health-addr %s: still in use after 1s\n", holder.Addr())
	if !strings.HasSuffix(log, want) {
		t.Errorf("stderr does not end with %q:\n%s", want, log)
	}
	if !regexp.MustCompile(`msg="stopping workers".* workers=2 `).MatchString(log) {
		t.Errorf("log does not show the 2 workers stopped the normal way:\n%s", log)
	}
	if left := processesWith(tag); len(left) > 0 {
		t.Errorf("processes %v still running after shardinit exited", left)
	}
}

// SIGTERM while the health address is awaited stops shardinit cleanly, at
// once rather than after --health-wait.
func TestHealthWaitStoppedWhileWaiting(t *testing.T) {
	t.Parallel()
	holder := holdPort(t)
	p := probe{t, holder.Addr().String(), client}
	in, _ := startPool(t, start{}, 2, append(p.flag(), "--health-wait", "30s"), "http")
	in.stopCleanly()
	if log := in.log.String(); strings.Contains(log, "health address bound") || strings.Contains(log, "not bound") {
		t.Errorf("the health address wait did not end with the stop:\n%s", log)
	}
}

// processesWith lists the PIDs whose environment holds kv.
func processesWith(kv string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		env, _ := os.ReadFile("/proc/" + e.Name() + "/environ")
		if bytes.Contains(append([]byte{0}, env...), []byte("\x00"+kv+"\x00")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// With --health-wait (ports shared with another pod), shardinit warns when
// the network namespace would reset the connections queued on its sockets
// as it stops; a new namespace starts with net.ipv4.tcp_migrate_req at 0.
func TestHealthWaitWarnsWithoutMigrate(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("a network namespace of the test's own needs root")
	}
	const warning = "net.ipv4.tcp_migrate_req is off"
	for _, wait := range []string{"10s", "0s"} {
		in := startShardinit(t, start{launch: []string{"launch-in-netns"}}, append([]string{"--workers", "1",
			"--listen", "http=127.0.0.1:8080", "--health-addr", "127.0.0.1:8081", "--health-wait", wait, "--"},
			worker("http")...)...)
		// Once shardinit logs, the launcher has moved into its namespace.
		eventually(t, 10*time.Second, "shardinit to start", func() bool { return strings.Contains(in.log.String(), "msg=starting") })
		// The worker serves: it has its handlers.
		if getsInNetns(t, in.cmd.Process.Pid, "127.0.0.1:8080", 1) == 0 {
			t.Fatalf("--health-wait %s: the worker did not answer in its network namespace", wait)
		}
		if got := strings.Contains(in.log.String(), warning); got != (wait != "0s") {
			t.Errorf("--health-wait %s: warning logged: %v, want %v\n%s", wait, got, wait != "0s", in.log.String())
		}
		in.stopCleanly()
	}
}
