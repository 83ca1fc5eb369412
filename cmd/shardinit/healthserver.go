package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/shardinit/shardinit/pkg/health"
)

// probeLimits bound what the health server holds for its clients.
type probeLimits struct {
	// conns is how many connections may be open at once.
	conns int
	// renders is how many /status and /metrics answers are built at once.
	renders int
	// header, read and write bound one request (http.Server's
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout), idle a keep-alive
	// connection between requests.
	header, read, write, idle time.Duration
	// silent is how long a connection that has sent nothing yet is kept
	// when a new one needs its place.
	silent time.Duration
}

// healthLimits are the health server's limits; tests shorten them.
var healthLimits = probeLimits{conns: 64, renders: 2, header: 5 * time.Second, read: 10 * time.Second,
	write: 30 * time.Second, idle: 30 * time.Second, silent: 500 * time.Millisecond}

// healthRetry is how often a health address in use is tried again: a
// replacement's probes answer within this of the old shardinit's exit.
const healthRetry = 200 * time.Millisecond

// serveHealth binds the probe address before any worker starts, so that a
// port in use is reported as such (exit 1) with nothing left running.
//
// With wait > 0 a port in use is waited for instead: the workers start and
// serve while the address is retried in the background, and if it is
// still taken after wait, stopPool (spawn.Pool.Stop) stops the pool with
// the error to exit with. That is for a replacement pod on the host network: it shares the
// listeners with the pod it replaces through SO_REUSEPORT, but not the
// health port, and its failing probes are what keep it from being reported
// ready early.
func serveHealth(addr string, wait time.Duration, h *health.Health, reg *prometheus.Registry, log *slog.Logger,
	stopPool func(cause error)) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	srv, lim := probeServer(h, reg, log)
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		go serveProbes(srv, lim, ln, log)
		return func() { shutdownProbes(srv) }, nil
	}
	if wait <= 0 || !errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("health-addr: %w", unwrapOpError(err))
	}
	log.Warn("health address in use; waiting for it", "addr", addr, "wait", wait)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ln, err := awaitBind(ctx, addr, wait, log)
		switch {
		case err == nil:
			go serveProbes(srv, lim, ln, log)
		// A stop already under way (SIGTERM) keeps its drain and its exit
		// code: ending it early would cut the drain short.
		case ctx.Err() == nil && !h.Stopping():
			log.Error("health address not bound; stopping", "err", err)
			stopPool(err)
		}
	}()
	return func() {
		cancel()
		<-done
		shutdownProbes(srv) // a Serve that starts after this closes its listener at once
	}, nil
}

// awaitBind tries addr every healthRetry until it binds, wait passes or ctx
// ends.
func awaitBind(ctx context.Context, addr string, wait time.Duration, log *slog.Logger) (net.Listener, error) {
	began := time.Now()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	retry := time.NewTicker(healthRetry)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return nil, fmt.Errorf("health-addr %s: still in use after %s", addr, wait)
		case <-retry.C:
		}
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			log.Info("health address bound", "addr", addr, "waited", time.Since(began).Round(time.Millisecond))
			return ln, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("health-addr: %w", unwrapOpError(err))
		}
	}
}

// maxProbeHeader bounds a request's header: probes and scrapes send a few
// hundred bytes, and every open connection may hold this much.
const maxProbeHeader = 8 << 10

// probeServer is the health server and the limit its listener gets
// (serveProbes). Nothing in it may grow with its clients: connections are
// capped (connLimit) and time out, headers are small, and /status and
// /metrics are built a few at a time (renderLimited). The probes answer
// from memory and go straight through.
func probeServer(h *health.Health, reg *prometheus.Registry, log *slog.Logger) (*http.Server, *connLimit) {
	mux := http.NewServeMux()
	h.Register(mux)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}))
	limited := renderLimited(mux, make(chan struct{}, healthLimits.renders))
	trim := newQuietTrim(log)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/livez" || r.URL.Path == "/readyz" {
			mux.ServeHTTP(w, r)
			return
		}
		limited.ServeHTTP(w, r)
		trim.scraped()
	})
	lim := newConnLimit(healthLimits.conns, healthLimits.silent)
	return &http.Server{Handler: handler, ConnState: lim.trackState, MaxHeaderBytes: maxProbeHeader,
		ReadHeaderTimeout: healthLimits.header, ReadTimeout: healthLimits.read,
		WriteTimeout: healthLimits.write, IdleTimeout: healthLimits.idle}, lim
}

func serveProbes(srv *http.Server, lim *connLimit, ln net.Listener, log *slog.Logger) {
	if err := srv.Serve(lim.wrap(ln)); !errors.Is(err, http.ErrServerClosed) {
		log.Error("health server", "err", err)
	}
}

// shutdownProbes waits for the handlers: they read the sockets, which close
// after this.
func shutdownProbes(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
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
