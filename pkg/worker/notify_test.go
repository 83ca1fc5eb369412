package worker

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

func TestNotify(t *testing.T) {
	addr := fmt.Sprintf("@shardinit-test/%d/%d", os.Getpid(), time.Now().UnixNano())
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", addr)
	for _, c := range []struct {
		send func() error
		want string
	}{
		{Ready, "READY=1"}, {Stopping, "STOPPING=1"}, {Watchdog, "WATCHDOG=1"},
		{func() error { return StatusLine("warming up") }, "STATUS=warming up"},
	} {
		want := c.want
		if err := c.send(); err != nil {
			t.Fatalf("send %s: %v", want, err)
		}
		buf := make([]byte, 64)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Errorf("received %q, %v; want %q", buf[:n], err, want)
		}
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if err := Ready(); err != nil {
		t.Errorf("Ready without NOTIFY_SOCKET = %v, want nil (nothing to tell)", err)
	}
}

func TestWatchdogInterval(t *testing.T) {
	for _, c := range []struct {
		usec, pid string
		want      time.Duration
		err       bool
	}{
		{"", "", 0, false},
		{"2000000", "", time.Second, false},
		{"2000000", fmt.Sprint(os.Getpid()), time.Second, false},
		{"2000000", "1", 0, false}, // another process's watchdog
		{"soon", "", 0, true},
	} {
		t.Setenv("WATCHDOG_USEC", c.usec)
		t.Setenv("WATCHDOG_PID", c.pid)
		got, err := WatchdogInterval()
		if got != c.want || (err != nil) != c.err {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: %s, %v; want %s, error %v", c.usec, c.pid, got, err, c.want, c.err)
		}
	}
}
