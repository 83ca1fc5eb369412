package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/shardinit/shardinit/pkg/health"
	"github.com/shardinit/shardinit/pkg/listen"
	"github.com/shardinit/shardinit/pkg/spawn"
	"github.com/urfave/cli/v2"
)

// runPool is shardinit's main job: bind, start the workers, supervise them
// until they stop, and return their exit code.
func runPool(c *cli.Context, command []string) error {
	// Before anything else exists: a signal that arrives while we bind must
	// neither kill us nor be lost.
	signals, stopSignals := spawn.Notify()
	defer stopSignals()

	cfg, err := resolveConfig(c)
	if err != nil {
		return err
	}
	p, err := makePlan(cfg, command)
	if err != nil {
		return err
	}
	if len(p.pool.Command) == 0 {
		return usageError{spawn.ErrNoCommand}
	}
	if p.pool.Path, err = spawn.Resolve(p.pool.Command[0]); err != nil {
		return err
	}
	log := newLogger(p)
	p.sizePool(log)

	set, err := listen.Bind(p.specs, p.pool.Workers, p.sockets)
	if err != nil {
		return err
	}
	defer set.Close()
	p.pool.Sockets, p.pool.SocketNames = set.FDs, set.Names()

	h := health.New(log)
	stopHealth, err := serveHealth(p.healthAddr, h, log)
	if err != nil {
		return err
	}
	defer stopHealth()

	p.pool.Logger = log
	p.pool.OnChange = func(st spawn.Status) { h.Update(st.Ready(), notReadyReason(st)) }
	logStart(log, p, set)
	code, err := spawn.Run(c.Context, p.pool, signals)
	if err != nil {
		return err
	}
	log.Info("exiting", "code", code)
	return &spawn.ExitError{Code: code}
}

func newLogger(p plan) *slog.Logger {
	opts := &slog.HandlerOptions{Level: p.logLevel}
	if p.logJSON {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func logStart(log *slog.Logger, p plan, set *listen.Set) {
	var bound []string
	for _, l := range set.Listeners {
		bound = append(bound, fmt.Sprintf("%s=%s (%d sockets)", l.Name, l.Bound, l.Shards()))
	}
	log.Info("starting", "version", version, "workers", p.pool.Workers, "cpu_quota", p.cpus.Quota,
		"cpuset", p.cpus.Cpuset, "worker_gomaxprocs", p.pool.GOMAXPROCS, "listeners", strings.Join(bound, ", "),
		"command", strings.Join(p.pool.Command, " "))
}

// serveHealth binds the probe address before any worker starts, so that a
// port in use is reported as such (exit 1) with nothing left running.
func serveHealth(addr string, h *health.Health, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("health-addr: %w", unwrapOpError(err))
	}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("health server", "err", err)
		}
	}()
	return func() { srv.Close() }, nil
}

// unwrapOpError shortens "listen tcp :8081: bind: address already in use"
// to "bind :8081: address already in use".
func unwrapOpError(err error) error {
	var op *net.OpError
	var sys *os.SyscallError
	if errors.As(err, &op) && errors.As(err, &sys) {
		return fmt.Errorf("%s %s: %w", sys.Syscall, op.Addr, sys.Err)
	}
	return err
}

func notReadyReason(st spawn.Status) string {
	if st.Phase != spawn.Running {
		return string(st.Phase)
	}
	var waiting []string
	for _, sl := range st.Slots {
		if sl.PID == 0 {
			waiting = append(waiting, fmt.Sprint(sl.Slot))
		}
	}
	if len(waiting) > 0 {
		return "no worker in slot " + strings.Join(waiting, ", ")
	}
	return ""
}
