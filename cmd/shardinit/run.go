package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/shardinit/shardinit/pkg/health"
	"github.com/shardinit/shardinit/pkg/listen"
	"github.com/shardinit/shardinit/pkg/spawn"
	"github.com/urfave/cli/v2"
)

// runPool is shardinit's main job: bind, start the workers, supervise them
// until they stop, and return their exit code; an error when they could
// not start, or the pool was stopped for one.
func runPool(c *cli.Context, command []string) (int, error) {
	// Before anything else exists: a signal that arrives while we bind must
	// neither kill us nor be lost.
	signals, stopSignals := spawn.Notify()
	defer stopSignals()
	// Before any child exists, too: nothing shardinit inherited by chance
	// reaches a worker.
	inherited, inheritErr := closeInheritedOnExec()

	p, log, err := preparePlan(c, command)
	if err != nil {
		return 0, err
	}
	reserveThreads(log)
	set, err := listen.Bind(p.specs, p.pool.Workers, p.sockets)
	if err != nil {
		return 0, err
	}
	defer set.Close()
	for _, line := range set.Refresh() { // another process's sockets on the port
		log.Info(line)
	}
	p.pool.Sockets = set

	p.pool.Logger = log
	pool, err := spawn.New(p.pool)
	if err != nil {
		return 0, err
	}
	h, err := health.New(health.Options{Logger: log, Registerer: p.registry, Version: version, Revision: buildRevision(), Listeners: set,
		RestartSignal: restartSignalName(p.pool.Signals), Pool: pool})
	if err != nil {
		return 0, err
	}
	stopHealth, err := serveHealth(p.healthAddr, p.healthWait, h, p.registry, log, pool.Stop)
	if err != nil {
		return 0, err
	}
	defer stopHealth()

	logStart(log, p, set)
	// Only now: input that stops shardinit before it starts is one line.
	logInherited(log, inherited, inheritErr)
	// --health-wait means another pod shares these ports on the node: what it
	// gets of our queued connections when we stop is the kernel's choice.
	if p.healthWait > 0 && !listen.MigratesOnClose() {
		log.Warn("net.ipv4.tcp_migrate_req is off: connections queued on these sockets when shardinit stops " +
			"are reset instead of moving to the pod that shares the ports; set it to 1 on the node")
	}
	go dropPagesOnceReady(c.Context, pool, log)
	// Before the sockets close (deferred above): the balancer stops first.
	balancing, stopBalancing := context.WithCancel(c.Context)
	defer stopBalancing()
	startBalancer(balancing, p, set, pool, log)
	// An error: no worker started, or the health address stopped the pool.
	code, err := pool.Run(c.Context, signals)
	if err != nil {
		return 0, err
	}
	log.Info("exiting", "code", code)
	return code, nil
}

// restartSignalName names the signal mapped to restart, for /status; "" if
// none is.
func restartSignalName(m spawn.SignalMap) string {
	if sig := m.RestartSignal(); sig != 0 {
		return spawn.SignalName(sig)
	}
	return ""
}

// preparePlan reads and checks every setting and the command, so that bad
// input stops shardinit before anything is bound or started.
func preparePlan(c *cli.Context, command []string) (plan, *slog.Logger, error) {
	vals, err := resolve(c)
	if err != nil {
		return plan{}, nil, err
	}
	p, err := makePlan(vals, command)
	if err != nil {
		return plan{}, nil, err
	}
	if len(p.pool.Command) == 0 {
		return plan{}, nil, usageError{spawn.ErrNoCommand}
	}
	log := newLogger(p)
	if err := p.sizePool(log); err != nil {
		return plan{}, nil, err
	}
	if p.pool.Path, err = spawn.Resolve(p.pool.Command[0]); err != nil {
		return plan{}, nil, err
	}
	p.registry = prometheus.NewRegistry()
	p.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return p, log, nil
}

func logInherited(log *slog.Logger, fds []int, err error) {
	if err != nil {
		log.Warn("workers may inherit fds shardinit was started with", "err", err)
	}
	if len(fds) > 0 {
		log.Info("fds inherited without close-on-exec are kept from the workers", "fds", fmt.Sprint(fds))
	}
}

// newLogger writes shardinit's own lines to stderr, which it shares with
// the workers. In JSON every line says logger=shardinit, so a log pipeline
// can tell them from the workers' lines, and durations are seconds (a
// number a query can compare), not Go's nanoseconds.
func newLogger(p plan) *slog.Logger {
	opts := &slog.HandlerOptions{Level: p.logLevel}
	if p.logJSON {
		opts.ReplaceAttr = durationSeconds
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)).With("logger", "shardinit")
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func durationSeconds(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.Float64(a.Key, a.Value.Duration().Seconds())
	}
	return a
}

func logStart(log *slog.Logger, p plan, set *listen.Set) {
	var bound []string
	for _, l := range set.Listeners {
		bound = append(bound, fmt.Sprintf("%s=%s (%d sockets)", l.Name, l.Bound, l.Shards()))
	}
	log.Info("starting", "version", version, "workers", p.pool.Workers, "max_workers", p.pool.MaxWorkers, "cpu_quota", p.cpus.Quota,
		"cpuset", p.cpus.Cpuset, "worker_gomaxprocs", p.pool.GOMAXPROCS, "listeners", strings.Join(bound, ", "),
		"ready_on", p.pool.ReadyOn, "command", strings.Join(p.pool.Command, " "))
}
