package main

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shardinit/shardinit/internal/preload"
)

// needPreload skips where the test binary was built without the shim
// (plain go test); make test builds it in.
func needPreload(t *testing.T, program string) string {
	t.Helper()
	if preload.Library() == nil {
		t.Skip("built without the LD_PRELOAD shim: run make test (it compiles shim/ and tests with -tags shim)")
	}
	path, err := exec.LookPath(program)
	if err != nil {
		t.Skipf("%s is not installed", program)
	}
	return path
}

// startBinder runs shardinit --preload with 2 workers of a program that
// binds 127.0.0.1:port itself, and waits until both shards have their
// worker.
func startBinder(t *testing.T, port int, command ...string) *instance {
	t.Helper()
	in := startShardinit(t, start{prepare: func(cmd *exec.Cmd) { cmd.Dir = t.TempDir() }},
		// These servers die of SIGTERM (143) rather than exit 0: say that is fine.
		append([]string{"--preload", "--workers", "2", "--listen", listenArg("http", port), "--health-addr", "",
			"--success-exit-codes", "143", "--"}, command...)...)
	eventually(t, 15*time.Second, "each worker to take its shard through its own bind", func() bool {
		shards, held := listenSockets(t, port), 0
		for pid := range childrenOf(in.cmd.Process.Pid) {
			held += len(socketsHeld(pid, shards))
		}
		return held == 2 && len(listenSockets(t, port)) == 2
	})
	return in
}

// python3 -m http.server binds the port itself; with --preload each of its
// two copies gets a shard, and a killed one's connections wait for its
// successor.
func TestPreloadPythonHTTPServer(t *testing.T) {
	t.Parallel()
	python := needPreload(t, "python3")
	port := freePort(t)
	in := startBinder(t, port, python, "-m", "http.server", fmt.Sprint(port), "--bind", "127.0.0.1")
	waitServing(t, in, port)
	pythons := childrenOf(in.cmd.Process.Pid)
	var victim int
	for pid := range pythons {
		victim = pid
		break
	}
	syscall.Kill(victim, syscall.SIGKILL)
	var wg sync.WaitGroup
	errs := make([]error, 30)
	for i := range errs {
		wg.Go(func() { _, errs[i] = get(fmt.Sprintf("http://127.0.0.1:%d/", port)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("connection %d after the kill: %v", i, err)
		}
	}
	eventually(t, 15*time.Second, "a successor python on the shard", func() bool {
		kids := childrenOf(in.cmd.Process.Pid)
		_, stillThere := kids[victim]
		return len(kids) == 2 && !stillThere
	})
	in.stopCleanly()
}

// The same with node's http module: two node processes answer.
func TestPreloadNode(t *testing.T) {
	t.Parallel()
	node := needPreload(t, "node")
	port := freePort(t)
	script := fmt.Sprintf("require('http').createServer((q,s)=>s.end('node '+process.pid)).listen(%d,'127.0.0.1')", port)
	in := startBinder(t, port, node, "-e", script)
	pids := map[string]bool{}
	eventually(t, 15*time.Second, "two node processes to answer", func() bool {
		body, err := get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err == nil && strings.HasPrefix(body, "node ") {
			pids[body] = true
		}
		return len(pids) == 2
	})
	in.stopCleanly()
}
