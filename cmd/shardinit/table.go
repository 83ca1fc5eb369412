package main

import (
	"fmt"
	"math"
	"strconv"
	"syscall"
	"time"

	"github.com/shardinit/shardinit/internal/preload"
	"github.com/shardinit/shardinit/pkg/balance"
	"github.com/shardinit/shardinit/pkg/listen"
	"github.com/shardinit/shardinit/pkg/spawn"
)

// table is every setting of shardinit, in --help order. A row's flag, its
// SHARDINIT_* variable, its YAML key, its line in --help and in the
// table of docs/settings.md come from the row, and its set function is what
// parses, checks and applies its value: adding a setting is adding a row
// and the code that uses it. Rows run in this order, so a row may check
// its value against those above it (max-workers against workers).
var table = []setting{{
	name: "command", arg: "ARG, …", kind: listKind, file: true,
	doc: "the worker command, used when none follows `--`",
	set: list(func(p *plan, argv []string) error {
		if len(p.pool.Command) == 0 {
			p.pool.Command = argv
		}
		return nil
	}),
}, {
	name: "listen", group: socketsGroup, arg: "NAME=ADDR", kind: listKind,
	usage: "listener NAME=ADDR (repeatable; ADDR: :8080, 127.0.0.1:8080, [::]:8080, tcp4://…, tcp6://…, unix:///path, unix://@name)",
	doc: "listener, repeatable (env: comma-separated). ADDR: `:8080` (all addresses, dual-stack), `127.0.0.1:8080`, `[::]:8080`, " +
		"`tcp4://…`, `tcp6://…` (IPv6 only), `unix:///path`, `unix://@abstract`. NAME defaults to `listen<i>`. Two listeners on one " +
		"port of a common address (`[::]:P` and `0.0.0.0:P`, `0.0.0.0:P` and `127.0.0.1:P`) or on one socket are refused (port 0 clashes with nothing)",
	set: list(func(p *plan, values []string) error {
		specs, err := listen.Specs(values)
		if err != nil {
			return err
		}
		p.specs = specs
		return checkClashes(specs)
	}),
}, {
	name: "workers", group: workersGroup, arg: "N", kind: numberKind, def: "0",
	usage: "number of workers; 0: the container's CPU limit, else its cpuset, followed as it changes (--cpu-limit-check)",
	doc: "0: the container's CPU limit rounded up (cgroup v1 or v2), at most the cpuset; no limit: the cpuset; and the pool follows " +
		"the limit when it changes (see `--cpu-limit-check`). N: N workers, whatever the limit",
	set: number(func(p *plan, n int) error {
		if n < 0 {
			return bad("must be 0 (one per CPU) or more")
		}
		p.pool.Workers = n
		return nil
	}),
}, {
	name: "cpu-limit-check", group: workersGroup, arg: "DURATION", kind: durationKind, def: "5s",
	usage: "with --workers 0: how often the CPU limit is read again; the pool scales to a changed limit (an in-place pod resize), one slot at a time, within --max-workers; 0: never",
	doc: "with `--workers 0`: how often the CPU limit (quota and cpuset, cgroup v1 and v2) is read again. When it changed, the pool " +
		"scales to the workers it now gives, one slot at a time through the scale path that loses no connection, within " +
		"`--max-workers`; new workers get the new GOMAXPROCS, and workers left with a stale one are rolled. Kubernetes changes the " +
		"limit of a running pod by an in-place resize (see [Kubernetes](kubernetes.md#following-an-in-place-resize)); `SIGTTIN` and " +
		"`SIGTTOU` still scale in between. 0: the size stays what the limit gave at start",
	set: duration(notNegative(func(p *plan, d time.Duration) { p.cpuCheck = d })),
}, {
	name: "max-workers", group: workersGroup, arg: "N", kind: numberKind, def: "0",
	usage: "most workers scaling up (SIGTTIN) may reach; 0: --workers or the cpuset's CPUs, whichever is more",
	doc: "the most workers scaling up (`SIGTTIN`) may reach; a scale-up beyond it is refused, logged and counted; 0: `--workers` " +
		"or the cpuset's CPUs, whichever is more; fewer than `--workers` is bad input",
	set: number(func(p *plan, n int) error {
		switch {
		case n < 0:
			return bad("must be 0 (--workers or one per CPU) or more")
		case n > 0 && n < p.pool.Workers:
			return bad("fewer than the %d workers", p.pool.Workers)
		}
		p.pool.MaxWorkers = n
		return nil
	}),
}, {
	name: "sockets", group: socketsGroup, arg: "MODE", kind: textKind, def: string(listen.PerWorker),
	usage: "per-worker (one SO_REUSEPORT socket per worker), balanced (per-worker, steered away from busy workers) or shared (one socket)",
	doc: "`per-worker`: one `SO_REUSEPORT` socket per slot; `balanced`: the same sockets, and new connections are steered away " +
		"from a shard whose queue waits or whose worker is busy (see [Sockets](sockets.md#balanced-steering-by-load)); `shared`: one " +
		"socket for all. Unix sockets are always shared",
	set: text(func(p *plan, s string) (err error) {
		p.sockets.Mode, err = listen.ParseMode(s)
		return named("sockets", err)
	}),
}, {
	name: "balance-interval", group: socketsGroup, arg: "DURATION", kind: durationKind, def: balance.DefaultInterval.String(),
	usage: "with --sockets balanced: how often the shards' queues and workers are looked at while new connections arrive",
	doc: "with `--sockets balanced`: how often the shards' queues and workers are looked at while new connections arrive (at " +
		"idle, once a second); about how long a new connection may be sent to a worker that just became busy. From 100µs to 1s",
	set: duration(func(p *plan, d time.Duration) error {
		if d < 100*time.Microsecond || d > time.Second {
			return bad("must be from 100µs to 1s")
		}
		p.balanceIn = d
		return nil
	}),
}, {
	name: "backlog", group: socketsGroup, arg: "N", kind: numberKind, def: "0",
	usage: "accept queue length of each socket; 0: net.core.somaxconn",
	doc:   "accept queue length; 0: `net.core.somaxconn`; at most 2147483647 (the kernel's C int)",
	set: number(func(p *plan, n int) error {
		p.sockets.Backlog = n
		return cInt(n)
	}),
}, {
	name: "defer-accept", group: socketsGroup, arg: "DURATION", kind: durationKind, def: "0s",
	usage: "wake a worker only once a connection has data (TCP_DEFER_ACCEPT); 0: off",
	doc:   "`TCP_DEFER_ACCEPT`, rounded up to seconds; at most 2147483647 s",
	set: duration(func(p *plan, d time.Duration) error {
		switch {
		case d < 0:
			return bad("must not be negative")
		case d > maxCInt*time.Second:
			return bad("more than the kernel takes (at most %ds)", maxCInt)
		}
		p.sockets.DeferAccept = d
		return nil
	}),
}, {
	name: "fastopen", group: socketsGroup, arg: "N", kind: numberKind, def: "0",
	usage: "TCP Fast Open queue length; 0: off",
	doc:   "TCP Fast Open queue length; at most 2147483647",
	set: number(func(p *plan, n int) error {
		p.sockets.FastOpen = n
		return cInt(n)
	}),
}, {
	name: "bind-to-device", group: socketsGroup, arg: "IFACE", kind: textKind,
	usage: "bind the sockets to this network interface (SO_BINDTODEVICE)",
	doc:   "`SO_BINDTODEVICE`",
	set:   text(func(p *plan, s string) error { p.sockets.BindToDevice = s; return nil }),
}, {
	name: "stop-signal", group: stoppingGroup, arg: "SIGNAL", kind: textKind, def: "TERM",
	usage: "signal that asks a worker to stop gracefully (TERM, 15, SIGQUIT, …)",
	doc: "graceful stop signal: `15`, `TERM`, `SIGQUIT`, `RTMIN+3`, `WINCH`. Refused: KILL (cannot be caught), STOP, TSTP, TTIN, TTOU " +
		"(they suspend the worker: every stop would end in SIGKILL), CONT, CHLD (ignored unless handled), URG, PROF (the Go runtime's), " +
		"32, 33 (the C library's)",
	set: text(func(p *plan, s string) (err error) {
		p.pool.StopSignal, err = parseStopSignal(s)
		return err
	}),
}, {
	name: "stop-timeout", group: stoppingGroup, arg: "DURATION", kind: durationKind, def: spawn.DefaultStopTimeout.String(),
	usage: "how long workers may take to stop before SIGKILL",
	doc:   "how long workers may take to stop before SIGKILL",
	set:   duration(positive(func(p *plan, d time.Duration) { p.pool.StopTimeout = d })),
}, {
	name: "drain-delay", group: stoppingGroup, arg: "DURATION", kind: durationKind, def: "0s",
	usage: "how long to keep serving, not ready, before stopping workers",
	doc:   "after a stop request: keep serving, not ready, this long",
	set:   duration(notNegative(func(p *plan, d time.Duration) { p.pool.DrainDelay = d })),
}, {
	name: "restart", group: restartsGroup, arg: "POLICY", kind: textKind, def: string(spawn.DefaultRestart),
	usage: "which worker exits restart the slot: always, on-failure or never",
	doc:   "`always`, `on-failure` (not after exit 0) or `never`; a slot that is not restarted ends the pool",
	set: text(func(p *plan, s string) (err error) {
		p.pool.Restart, err = spawn.ParsePolicy(s)
		return named("restart", err)
	}),
}, {
	name: "max-restarts", group: restartsGroup, arg: "N", kind: numberKind, def: strconv.Itoa(spawn.DefaultMaxRestarts),
	usage: "restarts one slot may make within --restart-window before shardinit exits; 0: unlimited",
	doc:   "restarts one slot may make within the window before shardinit stops and exits non-zero; 0: unlimited",
	set: number(func(p *plan, n int) error {
		switch {
		case n < 0:
			return bad("must be 0 (unlimited) or more")
		case n == 0:
			n = -1 // spawn's zero is its default
		}
		p.pool.MaxRestarts = n
		return nil
	}),
}, {
	name: "restart-window", group: restartsGroup, arg: "DURATION", kind: durationKind, def: spawn.DefaultRestartWindow.String(),
	usage: "the span --max-restarts counts over",
	doc:   "the span `--max-restarts` counts over",
	set:   duration(positive(func(p *plan, d time.Duration) { p.pool.RestartWindow = d })),
}, {
	name: "max-backoff", group: restartsGroup, arg: "DURATION", kind: durationKind, def: spawn.DefaultMaxBackoff.String(),
	usage: "the longest wait before restarting a slot whose worker keeps exiting quickly (from 100ms, doubling)",
	doc: "the longest a slot waits before its next restart while its worker keeps exiting within 10 s of its start: " +
		"the first restart is at once, then from 100 ms, doubling with jitter, up to this",
	set: duration(positive(func(p *plan, d time.Duration) { p.pool.MaxBackoff = d })),
}, {
	name: "user", group: workersGroup, arg: "USER[:GROUP]", kind: textKind,
	usage: "run the workers as this user (UID or name) and group (no supplementary groups); shardinit binds the ports first, so :80 needs no capability in the workers",
	doc: "run the workers as this user (UID or name) and group, with no supplementary groups; shardinit binds first, so a worker " +
		"serves `:80` without a capability. Needs shardinit to run as root",
	set: text(func(p *plan, s string) (err error) {
		p.pool.Credential, err = parseUser(s)
		return err
	}),
}, {
	name: "preload", group: workersGroup, kind: switchKind, def: "false", shown: "off",
	usage: "load shardinit's LD_PRELOAD shim into the workers: a program that binds its port itself gets its shard socket",
	doc:   "load the LD_PRELOAD shim into the workers (see [`--preload`](sockets.md#programs-that-bind-the-port-themselves---preload)); refused for a statically linked command",
	set: switchOf(func(p *plan, on bool) error {
		if !on {
			return nil
		}
		if err := preloadable(p.pool.Command); err != nil {
			return err
		}
		lib, err := preload.Checked()
		if err != nil {
			return fmt.Errorf("preload: %w", err)
		}
		p.pool.Preload = lib
		return nil
	}),
}, {
	name: "signal-map", group: workersGroup, arg: "MAP", kind: textKind,
	usage: "what signals do, over the defaults: e.g. HUP=restart,USR2=forward,QUIT=forward:TERM,WINCH=ignore (actions: stop, restart, scale-up, scale-down, forward, forward:SIG, ignore)",
	doc: "what signals do, over the defaults: `HUP=restart,USR2=forward,QUIT=forward:TERM,WINCH=ignore`. Actions: `stop`, `restart`, " +
		"`scale-up`, `scale-down`, `forward`, `forward:SIG`, `ignore`; signals as `15`, `TERM`, `SIGTERM` or `RTMIN+3`. KILL, STOP, URG, " +
		"PROF, 32, 33, CHLD, PIPE and the fault signals cannot be mapped; URG, PROF, 32 and 33 are no `forward:SIG` either",
	set: text(func(p *plan, s string) (err error) {
		p.pool.Signals, err = spawn.ParseSignalMap(s)
		return err
	}),
}, {
	name: "success-exit-codes", group: workersGroup, arg: "CODES", kind: listKind,
	usage: "exit codes that count as clean, like 0 (repeatable or comma-separated; e.g. 143 for a server that dies of SIGTERM)",
	doc:   "exit codes that count as clean, like 0 (e.g. `143` for a server that dies of SIGTERM): for `on-failure`, shardinit's exit code and the metrics",
	set: list(func(p *plan, values []string) error {
		for _, v := range values {
			code, err := strconv.Atoi(v)
			if err != nil || code < 0 || code > 255 {
				return fmt.Errorf("success-exit-codes: %q is not an exit code (0-255)", v)
			}
			p.pool.SuccessCodes = append(p.pool.SuccessCodes, code)
		}
		return nil
	}),
}, {
	name: "restart-surge", group: restartsGroup, arg: "N", kind: numberKind, def: strconv.Itoa(spawn.DefaultRestartSurge),
	usage: "slots a rolling restart (SIGHUP) replaces at once",
	doc:   "slots a rolling restart replaces at once",
	set: number(func(p *plan, n int) error {
		if n < 1 {
			return bad("must be 1 or more")
		}
		p.pool.RestartSurge = n
		return nil
	}),
}, {
	name: "ready-timeout", group: restartsGroup, arg: "DURATION", kind: durationKind, def: spawn.DefaultReadyTimeout.String(),
	usage: "how long a rolling restart waits for a successor to be ready before it gives up",
	doc:   "how long a rolling restart waits for a successor to be ready before it gives up",
	set:   duration(positive(func(p *plan, d time.Duration) { p.pool.ReadyTimeout = d })),
}, {
	name: "max-worker-lifetime", group: restartsGroup, arg: "DURATION", kind: durationKind, def: "0s",
	usage: "replace a worker once it has run this long, plus up to a tenth more (jitter), one slot at a time through a rolling restart's handover; 0: never",
	doc: "replace a ready worker once it has run this long, plus up to a tenth more so that workers started together are not replaced " +
		"together, as gunicorn's `--max-requests` or uWSGI's `--max-worker-lifetime` would, without the server's help. One slot at a " +
		"time, through a rolling restart's handover (no connection is lost), never while a rolling restart, a scale or another " +
		"handover is under way; counted as `shardinit_worker_restarts_total{reason=\"lifetime\"}`, not against `--max-restarts`; 0: never",
	set: duration(notNegative(func(p *plan, d time.Duration) { p.pool.MaxWorkerLifetime = d })),
}, {
	name: "max-worker-memory", group: restartsGroup, arg: "SIZE", kind: sizeKind, def: "0",
	usage: "replace a worker whose resident memory (with the processes it started) is above this (bytes, or 512Mi, 1G), read once a second, as --max-worker-lifetime does; 0: never",
	doc: "replace a ready worker whose resident memory, with the processes it started (its session), is above SIZE: bytes, or a " +
		"number with a suffix `k`, `M`, `G`, `T` (powers of 1000) or `Ki`, `Mi`, `Gi`, `Ti` (of 1024), as in `256Mi`. Read from `/proc` " +
		"once a second; replaced as `--max-worker-lifetime` replaces, counted as `reason=\"memory\"`. Set it below the container's " +
		"memory limit divided by the workers, with room for a successor, which runs beside its predecessor for a moment; 0: never",
	set: size(func(p *plan, n uint64) error {
		p.pool.MaxWorkerMemory = n
		return nil
	}),
}, {
	name: "ready-on", group: readinessGroup, arg: "WHEN", kind: textKind, def: string(spawn.DefaultReadyOn),
	usage: "when a worker is ready: accept (once seen waiting for connections on its sockets; start without --listen), start (once started) or notify (once it sends READY=1)",
	doc: "when a worker counts as ready: `accept` (once it is seen waiting for connections on its sockets; `start` when shardinit binds none), " +
		"`start` (once started) or `notify` (once it sends `READY=1`); see [Worker readiness](health-and-metrics.md#worker-readiness)",
	set: text(func(p *plan, s string) error {
		on, err := spawn.ParseReadyOn(s)
		if err != nil {
			return named("ready-on", err)
		}
		if on == spawn.ReadyOnAccept && len(p.specs) == 0 {
			on = spawn.ReadyOnStart // no socket to be seen accepting on
		}
		p.pool.ReadyOn = on
		return nil
	}),
}, {
	name: "min-ready", group: readinessGroup, arg: "N", kind: numberKind, def: "0",
	usage: "slots with a ready worker for /readyz to pass; 0: every slot",
	doc:   "slots with a ready worker for `/readyz` to pass; 0: every slot",
	set: number(func(p *plan, n int) error {
		switch {
		case n < 0:
			return bad("must be 0 (every slot) or more")
		case p.pool.Workers > 0 && n > p.pool.Workers:
			return bad("more than the %d workers", p.pool.Workers)
		}
		p.pool.MinReady = n
		return nil
	}),
}, {
	name: "watchdog", group: readinessGroup, arg: "DURATION", kind: durationKind, def: "0s",
	usage: "replace a worker that sends no WATCHDOG=1 for this long (WATCHDOG_USEC; at least 100ms; each replacement counts against --max-restarts); 0: off",
	doc: "replace a ready worker that sends no `WATCHDOG=1` for this long (systemd's `WatchdogSec`); at least `100ms`; each replacement " +
		"counts against `--max-restarts`, as a crash does; 0: off",
	set: duration(func(p *plan, d time.Duration) error {
		switch {
		case d < 0:
			return bad("must not be negative")
		case d > 0 && d < spawn.MinWatchdog:
			return bad("below the minimum %s (a worker must be able to ping in time)", spawn.MinWatchdog)
		}
		p.pool.Watchdog = d
		return nil
	}),
}, {
	name: "notify-dir", group: workersGroup, arg: "DIR", kind: textKind, shown: "(abstract names)",
	usage: "put the workers' NOTIFY_SOCKET files in this writable directory instead of using abstract socket names (for sd_notify clients that only take a path, such as Ruby's sd_notify gem)",
	doc: "put each worker's `NOTIFY_SOCKET` file under DIR (writable, at most 60 bytes long) instead of an abstract name; use it for " +
		"sd_notify clients that take `NOTIFY_SOCKET` as a path only, such as Ruby's `sd_notify` gem (puma), which otherwise fails at " +
		"start. The chart's `shardinit.notifyDir` mounts an emptyDir there",
	set: text(func(p *plan, dir string) error {
		// Whether it exists is for the run to find (shardinit check may run
		// away from the container); a missing one stops it before any worker.
		if len(dir) > maxNotifyDir {
			return bad("longer than %d bytes, which a socket path cannot hold with shardinit's names", maxNotifyDir)
		}
		p.pool.NotifyDir = dir
		return nil
	}),
}, {
	name: "stuck-timeout", group: readinessGroup, arg: "DURATION", kind: durationKind, def: spawn.DefaultStuckTimeout.String(),
	usage: "a worker whose accept queue does not drain for this long, or whose process stays stopped (SIGSTOP) this long, is stuck; 0: off",
	doc: "a worker whose accept queue stays non-empty without draining this long, or whose process stays stopped by a signal " +
		"(SIGSTOP) this long, is stuck; 0: off",
	set: duration(func(p *plan, d time.Duration) error {
		switch {
		case d < 0:
			return bad("must not be negative")
		case d == 0:
			d = -1 // spawn's zero is its default
		}
		p.pool.StuckTimeout = d
		return nil
	}),
}, {
	name: "on-stuck", group: readinessGroup, arg: "ACTION", kind: textKind, def: string(spawn.DefaultOnStuck),
	usage: "what to do with a stuck worker: restart (replace it) or report (fail /livez)",
	doc:   "`restart`: replace it (the successor takes its queue); `report`: only report it (`/livez` fails)",
	set: text(func(p *plan, s string) (err error) {
		p.pool.OnStuck, err = spawn.ParseOnStuck(s)
		return named("on-stuck", err)
	}),
}, {
	name: "health-addr", group: healthGroup, arg: "ADDR", kind: textKind, def: ":8081",
	usage: "address of /livez, /readyz, /status and /metrics, without authentication (the default is every interface: bind the pod IP or 127.0.0.1, or use a NetworkPolicy); empty: off",
	doc: "`/livez`, `/readyz`, `/status`, `/metrics`, without authentication; the default listens on every interface (see [Who can read it](health-and-metrics.md#who-can-read-it)); " +
		"empty: off. `host:port` with the host an IP address, `localhost` or empty, as `--listen` (no name is resolved, no `unix://`), not on a listener's port",
	set: text(func(p *plan, s string) (err error) {
		p.healthAddr, err = healthAddr(s, p.specs)
		return err
	}),
}, {
	name: "health-wait", group: healthGroup, arg: "DURATION", kind: durationKind, def: "0s",
	usage: "if the health address is in use at start, serve anyway and retry it this long, then stop (exit 1); 0: exit 1 at once",
	doc: "if the health address is in use at start: start the workers anyway and retry the address in the background this long, " +
		"then stop the pool and exit 1; 0: exit 1 at once, nothing started (see [Waiting for the health port](health-and-metrics.md#waiting-for-the-health-port))",
	set: duration(notNegative(func(p *plan, d time.Duration) { p.healthWait = d })),
}, {
	name: "log-format", group: healthGroup, arg: "FORMAT", kind: textKind, def: "text",
	usage: "text or json",
	doc:   "`text` or `json`, to stderr, which the workers share. A JSON line of shardinit's has `\"logger\":\"shardinit\"` (the workers' lines do not), durations in seconds (`\"ran\":1.25`), and on a worker's exit `exit_code` or `signal` (`\"SIGKILL\"`) beside `status`",
	set: text(func(p *plan, s string) error {
		if s != "text" && s != "json" {
			return bad("want text or json")
		}
		p.logJSON = s == "json"
		return nil
	}),
}, {
	name: "log-level", group: healthGroup, arg: "LEVEL", kind: textKind, def: "info",
	usage: "debug, info, warn or error",
	doc:   "`debug`, `info`, `warn`, `error`",
	set: text(func(p *plan, s string) error {
		if p.logLevel.UnmarshalText([]byte(s)) != nil {
			return bad("want debug, info, warn or error")
		}
		return nil
	}),
}}

// The groups of --help, in its order.
const (
	socketsGroup   = "Sockets"
	workersGroup   = "Workers"
	stoppingGroup  = "Stopping"
	restartsGroup  = "Restarts and rolls"
	readinessGroup = "Readiness and liveness"
	healthGroup    = "Health and logs"
)

// maxCInt is the most the kernel takes for a setting it reads as a C int:
// above it, listen(2) and setsockopt(2) would get the value truncated
// (a backlog of 2³² became a queue of 0).
const maxCInt = math.MaxInt32

func cInt(n int) error {
	switch {
	case n < 0:
		return bad("must not be negative")
	case n > maxCInt:
		return bad("more than the kernel takes (at most %d)", maxCInt)
	}
	return nil
}

// maxNotifyDir leaves room in a socket address (108 bytes) for
// shardinit's subdirectory and a socket name.
const maxNotifyDir = 60

func positive(apply func(*plan, time.Duration)) func(*plan, time.Duration) error {
	return func(p *plan, d time.Duration) error {
		if d <= 0 {
			return bad("must be positive")
		}
		apply(p, d)
		return nil
	}
}

func notNegative(apply func(*plan, time.Duration)) func(*plan, time.Duration) error {
	return func(p *plan, d time.Duration) error {
		if d < 0 {
			return bad("must not be negative")
		}
		apply(p, d)
		return nil
	}
}

// named puts a setting's name before a library's error about its value.
func named(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %w", name, err)
}

func parseStopSignal(s string) (syscall.Signal, error) {
	sig, err := spawn.ParseSignal(s)
	if err != nil {
		return 0, fmt.Errorf("stop-signal: %w", err)
	}
	if err := spawn.CheckStopSignal(sig); err != nil {
		return 0, fmt.Errorf("stop-signal %s: %w", spawn.SignalName(sig), err)
	}
	return sig, nil
}
