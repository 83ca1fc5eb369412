// Command shardinit is a container entrypoint that runs a network server on
// every core, as a correct PID 1.
//
//	ENTRYPOINT ["shardinit", "--"]
//	CMD ["myserver", "--flag"]
//
//	shardinit --listen http=:8080 --workers 4 -- myserver
//
// shardinit binds the listeners itself, starts N copies of the command
// (workers) that inherit the sockets as fds 3, 4, … with the systemd and
// einhorn variables, and then stays out of the data path: it supervises,
// reaps, forwards signals and stops the pool gracefully. A worker inherits
// fds 0–2 and its sockets, nothing else: any fd shardinit itself was
// started with open across exec is marked close-on-exec at start (and
// logged), since shardinit takes no socket by LISTEN_FDS itself.
//
// # What a worker receives
//
//	fds 3, 4, …                       its listeners, in --listen order
//	LISTEN_FDS LISTEN_PID LISTEN_FDNAMES  the systemd protocol; LISTEN_PID is the worker's own
//	EINHORN_FD_COUNT EINHORN_FD_0 …   the same fds, for einhorn-style servers
//	SHARDINIT_SLOT                    its slot, 0-based
//	SHARDINIT_SLOTS                   the number of slots
//	NOTIFY_SOCKET                     a socket of its own for sd_notify (READY=1, STATUS=…)
//	WATCHDOG_USEC WATCHDOG_PID        with --watchdog
//	GOMAXPROCS                        its share of the CPU limit, unless already set
//
// None of these is the mirror of a flag. The count used to be
// SHARDINIT_WORKERS, the --workers mirror, and a shardinit run as a worker
// took its parent's count for its own; now, with nothing of its own set, it
// sizes itself by its CPUs. Nor does a worker see shardinit's own SHARDINIT_*
// settings.
//
// # Settings
//
// Every setting is a row of one table (table.go): its flag, its
// SHARDINIT_* variable, its key in the YAML file given by --config, its
// line in shardinit --help and in the table of docs/settings.md (written
// by make docs) all come from the row, and so does the code that checks its
// value. An unknown key is an error, and so are a key in the wrong case,
// Workers, and a key given twice. Precedence: flags > environment > file >
// defaults. A duration is 500ms, 10s, 1m30s, or a number of seconds. Bad
// input of any kind ends shardinit with one line that names the setting,
// the value and, for a variable or the file, where it came from, and exit
// 2, before anything is bound or started; shardinit check says the same
// line. The file may also name the worker command (key "command", a
// list), used when none follows "--". Workers do not see the SHARDINIT_*
// settings.
//
// # The health port
//
// The default --health-addr :8081 listens on every interface of the pod,
// without authentication: whoever can reach the pod can read /status and
// /metrics. Bind the pod IP (env SHARDINIT_HEALTH_ADDR=$(POD_IP):8081, with
// POD_IP from the downward API's status.podIP), which the kubelet's probes
// reach, or restrict the port with a NetworkPolicy; bind 127.0.0.1:8081
// only when nothing outside the pod probes it (exec probes, docker
// HEALTHCHECK). /status shows shardinit's PID and start time, the phase,
// readiness, min-ready and the restart signal; per slot its state, the
// worker's PID, generation, restarts, uptime, last exit and last STATUS=
// text (whatever the worker sent: shardinit status shows its control
// characters as escapes, \x1b for ESC), the PIDs of a successor, of retiring
// workers and of leftovers; per listener its name, bound address and each
// shard's queue length and capacity. It never shows the command, its
// arguments or any environment. /metrics shows counts, the version, and
// the Go and process collectors (memory, CPU time, open fds).
//
// Nothing a client does makes the health server grow: at most 64
// connections are open at once; at that limit the connection idle the
// longest (a keep-alive connection between requests, or one silent for
// 0.5s since it connected) is closed for the new one, and when every
// connection is in a request the new one waits in the kernel's accept
// queue. A request has 5s for its header (8 KiB at most), 10s in all to be
// read and 30s to be answered; a keep-alive connection idle for 30s is
// closed. /status and /metrics are built two at a time (the probes are not
// held back by them), so at most two of the health server's goroutines are
// in the system calls that read /proc and the sockets' queues, each of which
// may hold an OS thread.
//
// # Threads and the pids limit
//
// A Go runtime that cannot start an OS thread dies, and a pod's pids limit
// is shared with the workers. shardinit therefore runs its own code with
// GOMAXPROCS at most 2 and, before it binds, makes twice the threads it can
// ever need at once (see threadsNeeded), which the runtime keeps and reuses:
// once a worker has used up the limit, probes, signals and the stop still
// work. A worker the kernel refuses to fork is a failed start.
//
// # Waiting for the health port
//
// With hostNetwork, a replacement pod on the same node shares the listeners
// with the pod it replaces through SO_REUSEPORT, but the health port cannot
// be shared: the kubelet's probes could not tell the two pods apart. With
// --health-wait, a health address in use at start is not fatal: shardinit
// logs a warning, starts the workers (which serve at once), and retries the
// address in the background until the old shardinit exits and it binds.
// Until then the new pod's readiness probe fails (it reaches the draining
// old shardinit, or nothing), which is what keeps it from being reported
// ready early. If the address is still taken after --health-wait,
// shardinit stops the pool the normal way and exits 1; a stop asked for in
// the meantime (SIGTERM) ends the wait. Other errors binding the health
// address (a bad address, no permission) end shardinit at once, before any
// worker starts. While it waits, restart and signal run in the new pod
// would reach the old shardinit, whose PIDs mean other processes here: they
// compare the start time /status reports and refuse. With --health-wait set,
// shardinit warns at start when net.ipv4.tcp_migrate_req is off, since the
// connections queued on its sockets when it stops would be reset instead of
// moving to the pod that shares the ports.
//
// # Subcommands
//
//	shardinit check [flags] [-- COMMAND]   validate and print the configuration
//	shardinit status [--health-addr ADDR]  show a running shardinit's slots and queues
//	shardinit probe [--health-addr ADDR] readyz|livez  exit 0 if it answers 200, else 1 (a HEALTHCHECK without curl)
//	shardinit restart [--health-addr ADDR | --pid PID]  roll the workers (sends the restart signal)
//	shardinit signal [--health-addr ADDR] SIGNAL [SLOT...]  send SIGNAL to every slot's worker, or to those slots'
//	shardinit version                      print the version
//
// status, restart and signal find the running shardinit through its /status
// (--health-addr, or the address in --config). The PIDs there are in
// shardinit's PID namespace, so signal runs inside its container (kubectl
// exec POD -- /shardinit signal QUIT 0), as restart does unless given --pid:
// signal refuses a PID that is not a child of the shardinit /status names. An image built FROM scratch
// has no kill(1); signal asks a worker for a stack dump (QUIT: a Go worker
// then exits and is replaced) or pauses and resumes one (STOP, CONT) to try
// how a stuck worker is handled. SIGNAL is a name (QUIT, SIGQUIT) or a
// number; only each slot's current worker is signalled, not one being
// replaced.
//
// Everything after the first "--" is the worker command, never a flag or a
// subcommand of shardinit's. Before it, a command near a subcommand's name
// (shardinit stauts) is bad input that names the subcommand; a program of
// that name runs as shardinit -- stauts.
//
// # Exit codes
//
// The first non-zero exit of a worker that ended the pool or stopped with
// it (128+N for one killed by signal N), else 0; 2 for bad input; 1 when a
// port cannot be bound or another error stops shardinit before the workers
// start, and when the health address is still in use after --health-wait; 127 when the command is not found, 126 when it cannot be run.
package main
