package main

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shardinit/shardinit/internal/preload"
	"github.com/shardinit/shardinit/pkg/listen"
	"github.com/shardinit/shardinit/pkg/spawn"
)

// plan is a validated Config, ready to run.
type plan struct {
	specs      []listen.Spec
	sockets    listen.Options
	pool       spawn.Config
	cpus       spawn.CPUs
	healthAddr string
	healthWait time.Duration
	registry   *prometheus.Registry
	logLevel   slog.Level
	logJSON    bool
}

// makePlan checks every setting; each error is one line naming the
// setting and the value, and is a usage error (exit 2).
func makePlan(cfg Config, command []string) (plan, error) {
	if len(command) == 0 {
		command = cfg.Command
	}
	p := plan{}
	// The first problem only: one line that names it.
	for _, check := range []func() error{
		func() error { return p.checkListen(cfg) },
		func() error { return p.checkPool(cfg, command) },
		func() error { return p.checkProcesses(cfg) },
		func() error { return p.checkReadiness(cfg) },
		func() error { return p.checkHealth(cfg) },
		func() error { return p.checkLog(cfg) },
	} {
		if err := check(); err != nil {
			return plan{}, usageError{err}
		}
	}
	return p, nil
}

func (p *plan) checkListen(cfg Config) error {
	specs, err := listen.Specs(cfg.Listen)
	if err != nil {
		return err
	}
	if err := checkClashes(specs); err != nil {
		return err
	}
	mode, err := listen.ParseMode(cfg.Sockets)
	if err != nil {
		return err
	}
	if err := checkSocketOptions(cfg); err != nil {
		return err
	}
	p.specs = specs
	p.sockets = listen.Options{Mode: mode, Backlog: cfg.Backlog, DeferAccept: time.Duration(cfg.DeferAccept),
		FastOpen: cfg.FastOpen, BindToDevice: cfg.BindToDevice}
	return nil
}

// checkClashes refuses two listeners on one port (see listen.Clash).
func checkClashes(specs []listen.Spec) error {
	for i, a := range specs {
		for _, b := range specs[i+1:] {
			if err := listen.Clash(a, b); err != nil {
				return fmt.Errorf("listen %s and %s: %w", a, b, err)
			}
		}
	}
	return nil
}

// maxCInt is the most the kernel takes for a setting it reads as a C int:
// above it, listen(2) and setsockopt(2) would get the value truncated
// (a backlog of 2³² became a queue of 0).
const maxCInt = math.MaxInt32

func checkSocketOptions(cfg Config) error {
	switch {
	case cfg.Backlog < 0:
		return fmt.Errorf("backlog %d: must not be negative", cfg.Backlog)
	case cfg.Backlog > maxCInt:
		return fmt.Errorf("backlog %d: more than the kernel takes (at most %d)", cfg.Backlog, maxCInt)
	case cfg.FastOpen < 0:
		return fmt.Errorf("fastopen %d: must not be negative", cfg.FastOpen)
	case cfg.FastOpen > maxCInt:
		return fmt.Errorf("fastopen %d: more than the kernel takes (at most %d)", cfg.FastOpen, maxCInt)
	case cfg.DeferAccept < 0:
		return fmt.Errorf("defer-accept %s: must not be negative", time.Duration(cfg.DeferAccept))
	case time.Duration(cfg.DeferAccept) > maxCInt*time.Second:
		return fmt.Errorf("defer-accept %s: more than the kernel takes (at most %ds)", time.Duration(cfg.DeferAccept), maxCInt)
	}
	return nil
}

func (p *plan) checkPool(cfg Config, command []string) error {
	switch {
	case cfg.Workers < 0:
		return fmt.Errorf("workers %d: must be 0 (one per CPU) or more", cfg.Workers)
	case cfg.MaxWorkers < 0:
		return fmt.Errorf("max-workers %d: must be 0 (--workers or one per CPU) or more", cfg.MaxWorkers)
	case cfg.MaxWorkers > 0 && cfg.MaxWorkers < cfg.Workers:
		return fmt.Errorf("max-workers %d: fewer than the %d workers", cfg.MaxWorkers, cfg.Workers)
	}
	sig, err := parseStopSignal(cfg.StopSignal)
	if err != nil {
		return err
	}
	policy, err := spawn.ParsePolicy(cfg.Restart)
	if err != nil {
		return err
	}
	if cfg.DrainDelay < 0 {
		return fmt.Errorf("drain-delay %s: must not be negative", time.Duration(cfg.DrainDelay))
	}
	for _, d := range []struct {
		name  string
		value Duration
	}{{"stop-timeout", cfg.StopTimeout}, {"restart-window", cfg.RestartWindow}} {
		if d.value <= 0 {
			return fmt.Errorf("%s %s: must be positive", d.name, time.Duration(d.value))
		}
	}
	if cfg.MaxRestarts < 0 {
		return fmt.Errorf("max-restarts %d: must be 0 (unlimited) or more", cfg.MaxRestarts)
	}
	p.pool = spawn.Config{
		Command: command, Workers: cfg.Workers, MaxWorkers: cfg.MaxWorkers, StopSignal: sig,
		StopTimeout: time.Duration(cfg.StopTimeout), DrainDelay: time.Duration(cfg.DrainDelay),
		Restart: policy, MaxRestarts: cfg.MaxRestarts, RestartWindow: time.Duration(cfg.RestartWindow),
		Env: workerBaseEnv(),
	}
	return nil
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

// checkProcesses reads how the workers are run: user, preload, signals,
// exit codes.
func (p *plan) checkProcesses(cfg Config) error {
	cred, err := parseUser(cfg.User)
	if err != nil {
		return err
	}
	if cfg.Preload {
		if err := preloadable(p.pool.Command); err != nil {
			return err
		}
		if p.pool.Preload = preload.Library(); p.pool.Preload == nil {
			return fmt.Errorf("preload: %w", preload.ErrMissing)
		}
	}
	signals, err := spawn.ParseSignalMap(cfg.SignalMap)
	if err != nil {
		return err
	}
	for _, code := range cfg.SuccessCodes {
		if code < 0 || code > 255 {
			return fmt.Errorf("success-exit-codes: %d is not an exit code (0-255)", code)
		}
	}
	p.pool.Credential, p.pool.Signals, p.pool.SuccessCodes = cred, signals, cfg.SuccessCodes
	return nil
}

// checkReadiness reads when workers count as ready and when they are
// replaced (rolls, stuck, watchdog).
func (p *plan) checkReadiness(cfg Config) error {
	readyOn, err := spawn.ParseReadyOn(cfg.ReadyOn)
	if err != nil {
		return err
	}
	if readyOn == spawn.ReadyOnAccept && len(p.specs) == 0 {
		readyOn = spawn.ReadyOnStart // no socket to be seen accepting on
	}
	onStuck, err := spawn.ParseOnStuck(cfg.OnStuck)
	if err != nil {
		return err
	}
	switch {
	case cfg.MinReady < 0:
		return fmt.Errorf("min-ready %d: must be 0 (every slot) or more", cfg.MinReady)
	case cfg.Workers > 0 && cfg.MinReady > cfg.Workers:
		return fmt.Errorf("min-ready %d: more than the %d workers", cfg.MinReady, cfg.Workers)
	case cfg.RestartSurge < 1:
		return fmt.Errorf("restart-surge %d: must be 1 or more", cfg.RestartSurge)
	case cfg.ReadyTimeout <= 0:
		return fmt.Errorf("ready-timeout %s: must be positive", time.Duration(cfg.ReadyTimeout))
	case cfg.Watchdog < 0:
		return fmt.Errorf("watchdog %s: must not be negative", time.Duration(cfg.Watchdog))
	case cfg.Watchdog > 0 && time.Duration(cfg.Watchdog) < minWatchdog:
		return fmt.Errorf("watchdog %s: below the minimum %s (a worker must be able to ping in time)", time.Duration(cfg.Watchdog), minWatchdog)
	case cfg.StuckTimeout < 0:
		return fmt.Errorf("stuck-timeout %s: must not be negative", time.Duration(cfg.StuckTimeout))
	}
	p.pool.ReadyOn, p.pool.OnStuck, p.pool.MinReady = readyOn, onStuck, cfg.MinReady
	p.pool.RestartSurge, p.pool.ReadyTimeout = cfg.RestartSurge, time.Duration(cfg.ReadyTimeout)
	p.pool.Watchdog, p.pool.StuckTimeout = time.Duration(cfg.Watchdog), time.Duration(cfg.StuckTimeout)
	if err := checkNotifyDir(cfg.NotifyDir); err != nil {
		return err
	}
	p.pool.NotifyDir = cfg.NotifyDir
	return nil
}

// minWatchdog is the shortest --watchdog: below it workers are replaced
// faster than any of them could ping.
const minWatchdog = 100 * time.Millisecond

// maxNotifyDir leaves room in a socket address (108 bytes) for
// shardinit's subdirectory and a socket name.
const maxNotifyDir = 60

func checkNotifyDir(dir string) error {
	if dir == "" {
		return nil
	}
	if len(dir) > maxNotifyDir {
		return fmt.Errorf("notify-dir %q: longer than %d bytes, which a socket path cannot hold with shardinit's names", dir, maxNotifyDir)
	}
	// Whether it exists is for the run to find (shardinit check may run
	// away from the container); a missing one stops it before any worker.
	return nil
}

func (p *plan) checkHealth(cfg Config) error {
	if cfg.HealthWait < 0 {
		return fmt.Errorf("health-wait %s: must not be negative", time.Duration(cfg.HealthWait))
	}
	addr, err := healthAddr(cfg.HealthAddr, p.specs)
	if err != nil {
		return err
	}
	p.healthAddr, p.healthWait = addr, time.Duration(cfg.HealthWait)
	return nil
}

// healthAddr checks the health address as --listen is checked (an IP
// address, localhost or none, and never a resolver), so that a bad one
// stops shardinit before anything is bound, and refuses one on a
// listener's port.
func healthAddr(addr string, listeners []listen.Spec) (string, error) {
	if addr == "" {
		return "", nil
	}
	if scheme, _, ok := strings.Cut(addr, "://"); ok {
		if scheme == "unix" {
			return "", fmt.Errorf("health-addr %q: unix sockets are not supported for the health address (want host:port or :port)", addr)
		}
		return "", fmt.Errorf("health-addr %q: scheme %q is not supported (want host:port or :port)", addr, scheme)
	}
	s, err := listen.ParseTCP(addr)
	if err != nil {
		return "", fmt.Errorf("health-addr %q: %w", addr, err)
	}
	for _, l := range listeners {
		if err := listen.Clash(s, l); err != nil {
			return "", fmt.Errorf("health-addr %s and listen %s: %w", addr, l, err)
		}
	}
	return s.Address, nil
}

func (p *plan) checkLog(cfg Config) error {
	switch cfg.LogFormat {
	case "text", "json":
		p.logJSON = cfg.LogFormat == "json"
	default:
		return fmt.Errorf("log-format %q: want text or json", cfg.LogFormat)
	}
	if err := p.logLevel.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return fmt.Errorf("log-level %q: want debug, info, warn or error", cfg.LogLevel)
	}
	return nil
}

// sizePool fills in the worker count (from the CPU limit when not given)
// and the GOMAXPROCS each worker gets, so N Go workers do not each claim
// every CPU of the pod.
func (p *plan) sizePool(log *slog.Logger) error {
	cpus, err := spawn.DetectCPUs()
	if err != nil {
		log.Warn("CPU limit unknown; sizing by the cpuset", "err", err, "cpuset", cpus.Cpuset)
	}
	p.cpus = cpus
	if p.pool.Workers == 0 {
		p.pool.Workers = cpus.Workers()
	}
	p.pool.GOMAXPROCS = cpus.WorkerGOMAXPROCS(p.pool.Workers)
	if p.pool.MinReady > p.pool.Workers {
		return usagef("min-ready %d: more than the %d workers the CPU limit gives; set --workers", p.pool.MinReady, p.pool.Workers)
	}
	if p.pool.MaxWorkers == 0 {
		p.pool.MaxWorkers = max(p.pool.Workers, cpus.Cpuset)
	}
	if p.pool.MaxWorkers < p.pool.Workers {
		return usagef("max-workers %d: fewer than the %d workers the CPU limit gives; set --workers", p.pool.MaxWorkers, p.pool.Workers)
	}
	return nil
}

// workerBaseEnv is shardinit's environment without its own settings.
func workerBaseEnv() []string {
	own := mirrors()
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !own[name] {
			env = append(env, kv)
		}
	}
	return env
}
