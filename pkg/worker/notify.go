package worker

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Notify sends state (for example "READY=1\nSTATUS=warming up") to the
// supervisor on NOTIFY_SOCKET: shardinit, or systemd. Without the variable
// the process runs on its own and Notify does nothing.
func Notify(state string) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	// Go's net package reads a leading '@' as the abstract namespace, as
	// sd_notify does.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify %s: %w", addr, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("notify %s: %w", addr, err)
	}
	return nil
}

// Ready says the worker serves (--ready-on notify waits for it).
func Ready() error { return Notify("READY=1") }

// Stopping says the worker is going down: it no longer counts as ready.
func Stopping() error { return Notify("STOPPING=1") }

// StatusLine sets the line shardinit shows for this worker in /status
// (sd_notify's STATUS=).
func StatusLine(text string) error { return Notify("STATUS=" + text) }

// Watchdog pings the watchdog; send it at least every WatchdogInterval.
func Watchdog() error { return Notify("WATCHDOG=1") }

// WatchdogInterval is how often the supervisor expects a Watchdog ping,
// halved so that one late ping is not fatal; 0 when no watchdog is set
// for this process (WATCHDOG_PID names another one).
func WatchdogInterval() (time.Duration, error) {
	usec := os.Getenv("WATCHDOG_USEC")
	if usec == "" {
		return 0, nil
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0, nil
	}
	n, err := strconv.ParseInt(usec, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("WATCHDOG_USEC=%q is not a positive number", usec)
	}
	return time.Duration(n) * time.Microsecond / 2, nil
}
