package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A worker stopped by SIGSTOP whose clients only use keep-alive queues no
// new connection, so no accept queue shows it: it is seen stopped, counted
// stuck and replaced, and its clients' requests wait, then complete (the
// replaced worker gets SIGCONT and drains). No request fails.
func TestStoppedKeepAliveWorkerIsReplaced(t *testing.T) {
	t.Parallel()
	port, p := freePort(t), newProbe(t)
	args := append([]string{"--workers", "2", "--listen", listenArg("http", port), "--stuck-timeout", "1s"}, p.flag()...)
	in := startShardinit(t, start{}, append(append(args, "--"), worker("http")...)...)
	p.waitCode("/readyz", http.StatusOK)
	waitServing(t, in, port)
	load := startKeepAliveLoad(t, port, 8, 2*time.Minute)
	eventually(t, 10*time.Second, "requests on both workers", func() bool { return load.ok.Load() > 100 })
	stopped := p.status().Slots[0].PID
	syscall.Kill(stopped, syscall.SIGSTOP)
	eventually(t, 30*time.Second, "the stopped worker to be replaced", func() bool {
		sl := p.status().Slots[0]
		return sl.PID != stopped && sl.State == "ready"
	})
	before := load.ok.Load()
	eventually(t, 10*time.Second, "requests after the replacement", func() bool { return load.ok.Load() > before+100 })
	load.finish()
	t.Logf("keep-alive load while a worker was stopped: %s", load)
	if load.failed.Load() > 0 {
		t.Errorf("%d requests failed, want none: %s", load.failed.Load(), load)
	}
	if !strings.Contains(in.log.String(), "worker stuck: it is stopped (SIGSTOP)") {
		t.Errorf("the log does not say the worker was stopped")
	}
	if got := sample(p.metrics()["shardinit_worker_restarts_total"], "reason", "stuck"); got != 1 {
		t.Errorf("%v stuck restarts, want 1", got)
	}
	in.stopCleanly()
}

// startKeepAliveLoad is startLoad with keep-alive clients only: once each
// has its connection, nothing new reaches an accept queue.
func startKeepAliveLoad(t *testing.T, port, conns int, maxTime time.Duration) *load {
	var d net.Dialer
	l := &load{dial: d.DialContext, stop: make(chan struct{})}
	deadline, addr := time.Now().Add(maxTime), fmt.Sprintf("127.0.0.1:%d", port)
	for range conns {
		l.done.Go(func() { l.run(addr, true, deadline) })
	}
	t.Cleanup(l.finish)
	return l
}
