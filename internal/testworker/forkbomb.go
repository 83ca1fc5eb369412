package testworker

import (
	"os"
	"os/exec"
	"sync/atomic"
)

// forkUntilFull starts children (sleep) until the kernel refuses one, as
// a worker that leaks processes does under a pod's pids limit; they stay
// in the worker's process group, so its stop signal ends them.
func forkUntilFull(<-chan os.Signal, *atomic.Int64) {
	for {
		if err := exec.Command("sleep", "1000").Start(); err != nil {
			return
		}
	}
}
