// Package spawn supervises a pool of worker processes: one per slot, each
// started on its slot's shard of the listening sockets, restarted when it
// exits, replaced one slot at a time by a rolling restart, scaled up and
// down live, and stopped gracefully.
//
// # One goroutine owns the pool
//
// Pool.Run runs the supervisor: a loop on one goroutine that holds every
// slot, worker and deadline, so nothing in it needs a lock. Each pass
// reaps, advances every slot whose state is due to change, publishes a
// snapshot (which Pool.Snapshot reads from any goroutine) and sleeps until
// the next deadline or event:
// SIGCHLD, another signal, a note on a worker's NOTIFY_SOCKET, or a probe
// from Pool.Alive. Every handler takes the time of the pass, so a state
// change never depends on when the code happened to run.
//
// # One reaper
//
// reap is the only caller of wait4 in the process, and it reaps every
// child: workers and orphans alike (shardinit is PID 1, or else registers
// as the child subreaper). A worker is recorded before wait4 can return
// its PID, because spawning happens on the same goroutine.
//
// # Forks on a locked thread
//
// Workers get Pdeathsig (SIGKILL), which fires when the thread that forked
// them exits, not the process. Run locks its goroutine to one OS thread for
// as long as any worker lives, and every fork happens there.
//
// # The exec stage
//
// A worker is first this very binary, re-executed with argv[0] set to the
// exec stage's name (ExecStage, called first thing in main). It is already
// the worker's PID, so it can set LISTEN_PID and WATCHDOG_PID as the systemd
// protocol wants, put every signal back to its default and clear the mask,
// and then exec the command. Its fds 3, 4, … are its shard's sockets (and
// the --preload library after them).
//
// # Phases
//
// The pool moves one way only:
//
//	running ──stop asked──▶ draining ──drain delay over, or asked again──▶ stopping ──stop timeout──▶ killing
//	   │                                                                     ▲
//	   └───────────────────── stop asked, no --drain-delay ──────────────────┘
//
// A stop is asked by a signal mapped to stop, by the end of Run's context,
// or by a slot that has spent its restarts.
// In running, slots are restarted, rolled and scaled. From draining on
// nothing new starts; Run returns once every worker is gone (or, after
// SIGKILL, once a grace period has passed) with the exit code the pool
// earned. A worker moves through starting → ready → stopping, and a slot
// that rolls holds its successor (fresh shard, steered away) beside its
// current worker until the successor is ready; see roll_linux.go and
// handover_linux.go.
package spawn
