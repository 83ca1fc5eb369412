package testworker

import (
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
)

// orphanStorm leaves orphans to shardinit without pause, each of which
// exits at once: every one is a SIGCHLD for shardinit, thousands a second.
// A shell does it because its builtins fork without an exec: `(:&)` is a
// subshell that backgrounds a builtin and exits, orphaning it.
func orphanStorm(<-chan os.Signal, *atomic.Int64) {
	cmd := exec.Command("/bin/sh", "-c", "while :; do (:&); done")
	// The shell is in the worker's process group, so the stop signal ends
	// it with the worker; Pdeathsig covers a worker that is killed alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Start()
}
