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
// The caller hands in the mux, the Prometheus registerer and the pool, whose
// snapshot is read when asked. Nothing here runs unless asked: the metrics
// are read from the pool's last snapshot and the sockets at scrape time.
package health

import (
	"context"
	"log/slog"
	"net/http"

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
	// Pool is the supervised pool (a *spawn.Pool): its snapshot and its
	// loop's answer. nil: not ready, and nothing to ask.
	Pool Pool
	// Listeners are the bound sockets, for their queues; may be nil.
	Listeners *listen.Set
	// Version and Revision (the commit) are reported in
	// shardinit_build_info.
	Version, Revision string
	// RestartSignal names the signal that rolls the workers ("SIGHUP"),
	// for `shardinit restart`; "" if none does.
	RestartSignal string
}

// Pool is what Health reads of the pool; *spawn.Pool has it.
type Pool interface {
	// Snapshot is the last snapshot; known is false before the first.
	Snapshot() (st spawn.Snapshot, known bool)
	// Alive fails if the supervisor's loop does not answer before ctx ends.
	Alive(ctx context.Context) error
}

// Health answers from the pool's snapshot.
type Health struct {
	opts Options
}

// New returns a Health that is not ready until the pool has published its
// first snapshot, and registers its metrics.
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

func (h *Health) snapshot() (spawn.Snapshot, bool) {
	if h.opts.Pool == nil {
		return spawn.Snapshot{}, false
	}
	return h.opts.Pool.Snapshot()
}

// Stopping reports whether the pool has begun to stop (draining or later).
func (h *Health) Stopping() bool {
	st, known := h.snapshot()
	return known && st.Phase != spawn.Running
}
