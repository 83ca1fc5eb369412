package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shardinit/shardinit/internal/accepting"
)

// With --sockets balanced, new connections avoid a worker that does not
// accept: here one stopped by SIGSTOP, whose queue the balancer sees wait.
// Per-worker sockets would hash about half of them to it, to wait until
// it runs again.
func TestBalancedAvoidsStoppedWorker(t *testing.T) {
	t.Parallel()
	port, p := freePort(t), newProbe(t)
	args := append([]string{"--workers", "2", "--listen", listenArg("http", port), "--sockets", "balanced"}, p.flag()...)
	in := startShardinit(t, start{}, append(append(args, "--"), worker("http")...)...)
	p.waitCode("/readyz", http.StatusOK)
	waitServing(t, in, port)
	stopped := p.status().Slots[0].PID
	syscall.Kill(stopped, syscall.SIGSTOP)
	defer syscall.Kill(stopped, syscall.SIGCONT)
	quick := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	answered := 0
	for range 40 {
		if resp, err := quick.Get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err == nil {
			resp.Body.Close()
			answered++
		}
	}
	t.Logf("%d of 40 new connections answered while worker 0 was stopped", answered)
	// The first connections can reach the stopped worker before its queue
	// is seen to wait; then none does.
	if answered < 36 {
		t.Errorf("%d of 40 new connections answered while a worker was stopped, want 36 or more", answered)
	}
	if got := sample(p.metrics()["shardinit_balance_avoided_shards"]); got != 1 {
		t.Errorf("shardinit_balance_avoided_shards %v, want 1", got)
	}
	syscall.Kill(stopped, syscall.SIGCONT)
	in.stopCleanly()
}

// A gunicorn sync worker serves one request at a time: while one answers
// a slow request, its syscall (not a wait for a connection) shows it busy,
// and new connections go to the other worker instead of waiting behind it.
func TestBalancedAvoidsBusyGunicorn(t *testing.T) {
	t.Parallel()
	srv := realServers[1]
	if srv.name != "gunicorn" {
		t.Fatalf("realServers[1] is %s, want gunicorn", srv.name)
	}
	needServer(t, srv.path)
	started := filepath.Join(t.TempDir(), "slow.pid")
	srv.files = map[string]string{"app.py": strings.ReplaceAll(slowAppPy, "STARTED", started)}
	in, port, p := startRealServer(t, srv, 2, "--sockets", "balanced")
	var slowDone atomic.Bool
	slow := make(chan error, 1)
	go func() {
		_, err := get(fmt.Sprintf("http://127.0.0.1:%d/slow", port))
		slowDone.Store(true)
		slow <- err
	}()
	// The worker that answered the readiness request may still be busy
	// finishing it: with both busy, the balancer avoids the one busy for
	// longer, that one, for a moment. So wait until the slow request is answered and every other worker
	// waits for connections, then for a sample that began after that.
	eventually(t, 10*time.Second, "the slow request started and the other worker idle", func() bool {
		return othersIdle(p, started)
	})
	after := sample(p.metrics()["shardinit_balance_samples_total"])
	eventually(t, 10*time.Second, "a sample to see the busy worker", func() bool {
		m := p.metrics()
		return sample(m["shardinit_balance_samples_total"]) >= after+2 && sample(m["shardinit_balance_avoided_shards"]) == 1
	})
	for i := range 20 {
		if _, err := get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil {
			t.Fatal(err)
		}
		if slowDone.Load() {
			t.Fatalf("request %d of 20 waited for the slow one: it reached the busy worker", i+1)
		}
	}
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	in.stopCleanly()
}

// othersIdle says whether the gunicorn worker that wrote its PID to
// started answers the slow request and every other one waits for
// connections.
func othersIdle(p probe, started string) bool {
	b, err := os.ReadFile(started)
	busy, err2 := strconv.Atoi(string(b))
	if err != nil || err2 != nil {
		return false
	}
	for _, sl := range p.status().Slots {
		for kid := range childrenOf(sl.PID) {
			line, err := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", kid))
			if kid != busy && (err != nil || !accepting.Waiting(line)) {
				return false
			}
		}
	}
	return true
}

// slowAppPy answers /slow after 4 s, anything else at once. It writes its
// PID to STARTED when the slow request begins.
const slowAppPy = `import os
import time


def wsgi(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        with open("STARTED.tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename("STARTED.tmp", "STARTED")
        time.sleep(4)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
`
