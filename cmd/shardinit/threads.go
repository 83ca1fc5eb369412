package main

import (
	"log/slog"
	"runtime"

	"github.com/shardinit/shardinit/internal/osthreads"
)

// shardinitProcs caps how many threads run shardinit's own Go code at once
// (GOMAXPROCS). Its work is light; without the cap the garbage collector
// would put a thread on every core of a large node, and the reserve below
// would have to cover them all.
const shardinitProcs = 2

// threadsNeeded is shardinit's peak count of OS threads, twice over: one per
// GOMAXPROCS, and beside them the runtime's monitor (sysmon), the thread
// os/signal wires for its mask, the template thread LockOSThread starts,
// the supervisor's own wired thread (it forks the workers), one for each
// /status or /metrics render at once (their /proc reads block a thread),
// and one writing the log to a stderr that is slow to drain. The notify
// sockets and health connections wait in the network poller, which holds
// no thread.
func threadsNeeded(procs, renders int) int {
	return 2 * (procs + 4 + renders + 1)
}

// reserveThreads makes every OS thread shardinit will need now, while the
// pids limit still has room: after that a worker may use it up, and a Go
// runtime that cannot start a thread dies (see internal/osthreads).
func reserveThreads(log *slog.Logger) {
	procs := min(runtime.GOMAXPROCS(0), shardinitProcs)
	runtime.GOMAXPROCS(procs)
	have, err := osthreads.Reserve(threadsNeeded(procs, healthLimits.renders))
	if err != nil {
		log.Warn("OS threads not all made at start: under a pids limit, shardinit may fail to start one later", "threads", have, "err", err)
		return
	}
	log.Debug("OS threads made at start", "threads", have, "gomaxprocs", procs)
}
