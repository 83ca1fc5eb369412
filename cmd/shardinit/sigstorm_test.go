package main

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/shardinit/shardinit/internal/testworker"
)

// A storm of SIGCHLD (orphans that exit thousands of times a second) must
// not crowd out the signals that steer the pool: every forwarded SIGWINCH
// reaches both workers, and the SIGTERM stops shardinit.
func TestSignalsSurviveChildStorm(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, port := startPool(t, start{pid1: true}, 2, p.flag(), "orphan-storm")
	reaped := func() float64 { return sample(p.metrics()["shardinit_orphans_reaped_total"]) }
	first := reaped()
	eventually(t, 60*time.Second, "1,000 orphans reaped", func() bool { return reaped() > first+1000 })
	const sent = 20
	for n := int64(1); n <= sent; n++ {
		in.signal(syscall.SIGWINCH)
		// Each one is counted before the next is sent: two that were
		// pending at once would be one for the kernel.
		eachWorker(t, port, 2, fmt.Sprintf("count SIGWINCH %d of %d", n, sent), func(i testworker.Info) bool { return i.WINCH == n })
	}
	t.Logf("%.0f orphans reaped while %d SIGWINCH were forwarded", reaped()-first, sent)
	in.signal(syscall.SIGTERM)
	if code := in.wait(20 * time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
}
