// Package health answers Kubernetes' probes, /status and /metrics from the
// workers' real state.
//
// A kubelet tcpSocket probe against a port that shardinit holds proves
// nothing: the kernel completes the handshake even when no worker is alive.
// So probes go to shardinit's own endpoints:
//
//	/livez    the supervisor's loop answers, and no worker is stuck
//	/readyz   no stop is under way, and at least min-ready slots have a ready worker
//	/status   JSON: every slot and every listener's shards with their queues
//
// Both probes take ?verbose, which lists each check as kube-apiserver does.
// The caller hands in the mux and the Prometheus registerer; the supervisor
// reports state changes through Update. Nothing here runs unless asked: the
// metrics are read from the last snapshot and the sockets at scrape time.
package health

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shardinit/shardinit/pkg/listen"
	"github.com/shardinit/shardinit/pkg/spawn"
)

// Options wire Health to the rest of shardinit.
type Options struct {
	// Logger gets a line whenever readiness or liveness changes. Default:
	// discarded.
	Logger *slog.Logger
	// Registerer receives the shardinit_* collector; nil: no metrics.
	Registerer prometheus.Registerer
	// Alive asks the supervisor's loop to answer (spawn.Pool.Alive).
	Alive func(context.Context) error
	// Listeners are the bound sockets, for their queues; may be nil.
	Listeners *listen.Set
	// Version is reported in shardinit_build_info.
	Version string
	// RestartSignal names the signal that rolls the workers ("SIGHUP"),
	// for `shardinit restart`; "" if none does.
	RestartSignal string
}

// Health holds the last state the supervisor reported.
type Health struct {
	opts  Options
	mu    sync.Mutex
	st    spawn.Status
	known bool
}

// New returns a Health that is not ready until the first Update, and
// registers its metrics.
func New(opts Options) (*Health, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Health{opts: opts}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(newCollector(h)); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Register adds /livez, /readyz and /status to mux.
func (h *Health) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /livez", h.serveChecks("livez", h.livezChecks()))
	mux.HandleFunc("GET /readyz", h.serveChecks("readyz", h.readyzChecks()))
	mux.HandleFunc("GET /status", h.serveStatus)
}

// Update takes a new snapshot from the supervisor (spawn.Config.OnChange).
func (h *Health) Update(st spawn.Status) {
	h.mu.Lock()
	old, known := h.st, h.known
	h.st, h.known = st, true
	h.mu.Unlock()
	if !known || old.Ready() != st.Ready() {
		h.opts.Logger.Info("readiness changed", "ready", st.Ready(), "phase", st.Phase,
			"ready_slots", st.ReadySlots(), "min_ready", st.MinReady)
	}
	if !slices.Equal(old.Stuck(), st.Stuck()) {
		h.opts.Logger.Info("liveness changed", "stuck_slots", st.Stuck())
	}
}

func (h *Health) status() (spawn.Status, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.st, h.known
}

// Stopping reports whether the pool has begun to stop (draining or later).
func (h *Health) Stopping() bool {
	st, known := h.status()
	return known && st.Phase != spawn.Running
}
