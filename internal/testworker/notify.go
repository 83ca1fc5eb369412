package testworker

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// readyOnUSR2 reports readiness only when the test says so.
func readyOnUSR2(usr2 <-chan os.Signal, _ *atomic.Int64) {
	<-usr2
	sdNotify(daemon.SdNotifyReady + "\nSTATUS=serving")
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
