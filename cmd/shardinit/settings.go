package main

import (
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// setting ties a flag (and its SHARDINIT_* mirror) to a Config field.
type setting struct {
	flag  cli.Flag
	apply func(c *cli.Context, cfg *Config)
}

// envOf is a flag's environment mirror: --stop-timeout → SHARDINIT_STOP_TIMEOUT.
func envOf(name string) []string {
	return []string{"SHARDINIT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
}

// The flags carry no values: defaults() is applied first and a flag only
// when set (see resolveConfig), so --help shows defaults() as text.
var defaultConfig = defaults()

func str(name, usage string, field func(*Config) *string) setting {
	return setting{
		flag:  &cli.StringFlag{Name: name, Usage: usage, EnvVars: envOf(name), DefaultText: *field(&defaultConfig)},
		apply: func(c *cli.Context, cfg *Config) { *field(cfg) = c.String(name) },
	}
}

func integer(name, usage string, field func(*Config) *int) setting {
	return setting{
		flag: &cli.IntFlag{Name: name, Usage: usage, EnvVars: envOf(name),
			DefaultText: strconv.Itoa(*field(&defaultConfig))},
		apply: func(c *cli.Context, cfg *Config) { *field(cfg) = c.Int(name) },
	}
}

func duration(name, usage string, field func(*Config) *Duration) setting {
	return setting{
		flag: &cli.DurationFlag{Name: name, Usage: usage, EnvVars: envOf(name),
			DefaultText: time.Duration(*field(&defaultConfig)).String()},
		apply: func(c *cli.Context, cfg *Config) { *field(cfg) = Duration(c.Duration(name)) },
	}
}

// settings is every flag that maps to a Config field, in --help order.
var settings = []setting{
	{
		flag: &cli.StringSliceFlag{Name: "listen", EnvVars: envOf("listen"),
			Usage: "listener `NAME=ADDR` (repeatable; ADDR: :8080, 127.0.0.1:8080, [::]:8080, tcp4://…, tcp6://…, unix:///path)"},
		apply: func(c *cli.Context, cfg *Config) { cfg.Listen = c.StringSlice("listen") },
	},
	integer("workers", "number of workers; 0: the container's CPU limit, else its cpuset", func(c *Config) *int { return &c.Workers }),
	integer("max-workers", "most workers scaling up (SIGTTIN) may reach; 0: --workers or the cpuset's CPUs, whichever is more", func(c *Config) *int { return &c.MaxWorkers }),
	str("sockets", "per-worker (one SO_REUSEPORT socket per worker) or shared (one socket)", func(c *Config) *string { return &c.Sockets }),
	integer("backlog", "accept queue length of each socket; 0: net.core.somaxconn", func(c *Config) *int { return &c.Backlog }),
	duration("defer-accept", "wake a worker only once a connection has data (TCP_DEFER_ACCEPT); 0: off", func(c *Config) *Duration { return &c.DeferAccept }),
	integer("fastopen", "TCP Fast Open queue length; 0: off", func(c *Config) *int { return &c.FastOpen }),
	str("bind-to-device", "bind the sockets to this network interface (SO_BINDTODEVICE)", func(c *Config) *string { return &c.BindToDevice }),
	str("stop-signal", "signal that asks a worker to stop gracefully (TERM, 15, SIGQUIT, …)", func(c *Config) *string { return &c.StopSignal }),
	duration("stop-timeout", "how long workers may take to stop before SIGKILL", func(c *Config) *Duration { return &c.StopTimeout }),
	duration("drain-delay", "how long to keep serving, not ready, before stopping workers", func(c *Config) *Duration { return &c.DrainDelay }),
	str("restart", "which worker exits restart the slot: always, on-failure or never", func(c *Config) *string { return &c.Restart }),
	integer("max-restarts", "restarts one slot may make within --restart-window before shardinit exits; 0: unlimited", func(c *Config) *int { return &c.MaxRestarts }),
	duration("restart-window", "the span --max-restarts counts over", func(c *Config) *Duration { return &c.RestartWindow }),
	str("user", "run the workers as `UID|NAME[:GID|GROUP]` (no supplementary groups); shardinit binds the ports first, so :80 needs no capability in the workers", func(c *Config) *string { return &c.User }),
	{
		flag: &cli.BoolFlag{Name: "preload", EnvVars: envOf("preload"),
			Usage: "load shardinit's LD_PRELOAD shim into the workers: a program that binds its port itself gets its shard socket"},
		apply: func(c *cli.Context, cfg *Config) { cfg.Preload = c.Bool("preload") },
	},
	str("signal-map", "what signals do, over the defaults: e.g. HUP=restart,USR2=forward,QUIT=forward:TERM,WINCH=ignore (actions: stop, restart, scale-up, scale-down, forward, forward:SIG, ignore)", func(c *Config) *string { return &c.SignalMap }),
	{
		flag: &cli.IntSliceFlag{Name: "success-exit-codes", EnvVars: envOf("success-exit-codes"),
			Usage: "exit `CODES` that count as clean, like 0 (repeatable or comma-separated; e.g. 143 for a server that dies of SIGTERM)"},
		apply: func(c *cli.Context, cfg *Config) { cfg.SuccessCodes = c.IntSlice("success-exit-codes") },
	},
	integer("restart-surge", "slots a rolling restart (SIGHUP) replaces at once", func(c *Config) *int { return &c.RestartSurge }),
	duration("ready-timeout", "how long a rolling restart waits for a successor to be ready before it gives up", func(c *Config) *Duration { return &c.ReadyTimeout }),
	str("ready-on", "when a worker is ready: accept (once seen waiting for connections on its sockets; start without --listen), start (once started) or notify (once it sends READY=1)", func(c *Config) *string { return &c.ReadyOn }),
	integer("min-ready", "slots with a ready worker for /readyz to pass; 0: every slot", func(c *Config) *int { return &c.MinReady }),
	duration("watchdog", "replace a worker that sends no WATCHDOG=1 for this long (WATCHDOG_USEC; at least 100ms; each replacement counts against --max-restarts); 0: off", func(c *Config) *Duration { return &c.Watchdog }),
	str("notify-dir", "put the workers' NOTIFY_SOCKET files in this writable directory instead of using abstract socket names (for sd_notify clients that only take a path, such as Ruby's sd_notify gem)", func(c *Config) *string { return &c.NotifyDir }),
	duration("stuck-timeout", "a worker whose accept queue does not drain for this long is stuck; 0: off", func(c *Config) *Duration { return &c.StuckTimeout }),
	str("on-stuck", "what to do with a stuck worker: restart (replace it) or report (fail /livez)", func(c *Config) *string { return &c.OnStuck }),
	str("health-addr", "address of /livez, /readyz, /status and /metrics, without authentication (the default is every interface: bind the pod IP or 127.0.0.1, or use a NetworkPolicy); empty: off", func(c *Config) *string { return &c.HealthAddr }),
	duration("health-wait", "if the health address is in use at start, serve anyway and retry it this long, then stop (exit 1); 0: exit 1 at once", func(c *Config) *Duration { return &c.HealthWait }),
	str("log-format", "text or json", func(c *Config) *string { return &c.LogFormat }),
	str("log-level", "debug, info, warn or error", func(c *Config) *string { return &c.LogLevel }),
}

// configFlag names the YAML file; it is read before the other settings apply.
var configFlag = &cli.StringFlag{Name: "config", EnvVars: envOf("config"), Usage: "YAML file of settings (keys are the flag names)"}

// flags are fresh copies of every flag: the cli package marks a flag it
// found in the environment as set for good, and tests (fuzz tests above
// all) run shardinit many times in one process.
func flags() []cli.Flag {
	fs := []cli.Flag{fresh(configFlag)}
	for _, s := range settings {
		fs = append(fs, fresh(s.flag))
	}
	return fs
}

// fresh is a shallow copy of f (a pointer to one of the cli package's
// flag structs).
func fresh(f cli.Flag) cli.Flag {
	v := reflect.ValueOf(f).Elem()
	c := reflect.New(v.Type())
	c.Elem().Set(v)
	return c.Interface().(cli.Flag)
}

// resolveConfig applies defaults < YAML file < environment < flags. The
// cli package already puts flags over their environment mirrors.
func resolveConfig(c *cli.Context) (Config, error) {
	cfg := defaults()
	if path := c.String("config"); path != "" {
		if err := loadFile(path, &cfg); err != nil {
			return Config{}, err
		}
	}
	for _, s := range settings {
		if c.IsSet(s.flag.Names()[0]) {
			s.apply(c, &cfg)
		}
	}
	return cfg, nil
}

// mirrors lists the SHARDINIT_* variables that configure shardinit itself;
// workers do not see them (a nested shardinit must not take them up).
func mirrors() map[string]bool {
	m := map[string]bool{}
	for _, f := range flags() {
		for _, e := range f.(interface{ GetEnvVars() []string }).GetEnvVars() {
			m[e] = true
		}
	}
	return m
}
