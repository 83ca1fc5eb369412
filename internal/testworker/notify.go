package testworker

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/coreos/go-systemd/v22/daemon"
)

// readyOnFile reports readiness only once the test creates DIR/ready-<pid>
// (ReadyFile). A file, unlike a signal, cannot arrive before the worker
// listens for it.
func readyOnFile(dir string) func(<-chan os.Signal, *atomic.Int64) {
	return func(<-chan os.Signal, *atomic.Int64) {
		if err := waitForFile(dir, ReadyFile(dir, os.Getpid())); err != nil {
			fmt.Fprintf(os.Stderr, "testworker: %v\n", err)
			return
		}
		sdNotify(daemon.SdNotifyReady + "\nSTATUS=serving")
	}
}

// ReadyFile is the file that makes the notify worker pid ready.
func ReadyFile(dir string, pid int) string {
	return filepath.Join(dir, "ready-"+strconv.Itoa(pid))
}

// waitForFile blocks until path exists, watching dir with inotify (the
// watch is set before the first look, so no creation is missed).
func waitForFile(dir, path string) error {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("inotify: %w", err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if _, err := unix.Read(fd, buf); err != nil && err != unix.EINTR {
			return fmt.Errorf("read inotify: %w", err)
		}
	}
}

// pingUntilUSR2 is ready at once and pings the watchdog as systemd asks
// (SdWatchdogEnabled checks WATCHDOG_USEC and WATCHDOG_PID), until the test
// makes it hang.
func pingUntilUSR2(usr2 <-chan os.Signal, pings *atomic.Int64) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		fmt.Fprintf(os.Stderr, "testworker: watchdog not enabled: %v\n", err)
		return
	}
	sdNotify(daemon.SdNotifyReady)
	tick := time.NewTicker(interval / 4)
	defer tick.Stop()
	for {
		select {
		case <-usr2:
			return
		case <-tick.C:
			sdNotify(daemon.SdNotifyWatchdog)
			pings.Add(1)
		}
	}
}

func sdNotify(state string) {
	if sent, err := daemon.SdNotify(false, state); !sent || err != nil {
		fmt.Fprintf(os.Stderr, "testworker: sd_notify %q: sent=%v err=%v\n", state, sent, err)
	}
}
