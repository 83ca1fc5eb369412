package testworker

import (
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"

	"github.com/shardinit/shardinit/internal/osthreads"
)

// forkBomb serves; on SIGUSR2 the worker of slot 0 starts children (sleep)
// until the kernel refuses one, as a worker that leaks processes does under
// a pod's pids limit. The children stay in its process group, so its stop
// signal ends them. Every worker of this mode makes its threads first, so
// that only shardinit is put to the test once the limit is reached, and
// not the test worker's own Go runtime.
func forkBomb() int {
	osthreads.Reserve(8)
	return serve(inherited, forkOnUSR2, syscall.SIGTERM, syscall.SIGINT)
}

func forkOnUSR2(usr2 <-chan os.Signal, _ *atomic.Int64) {
	if os.Getenv("SHARDINIT_SLOT") != "0" {
		return
	}
	<-usr2
	for exec.Command("sleep", "1000").Start() == nil {
	}
}
