// Package health answers Kubernetes' probes from the workers' real state.
//
// A kubelet tcpSocket probe against a port that shardinit holds proves
// nothing: the kernel completes the handshake even when no worker is alive.
// So probes go to shardinit's own HTTP endpoints:
//
//	/livez   200 while the supervisor runs
//	/readyz  200 when every slot has a worker and no stop is under way
//
// The caller hands in the mux (and serves it); the supervisor reports state
// changes through Update. Handlers log only when the answer changes.
package health

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
)

// Health holds the answer to the probes.
type Health struct {
	log    *slog.Logger
	mu     sync.Mutex
	ready  bool
	reason string
}

// New starts not ready: nothing has been started yet.
func New(log *slog.Logger) *Health {
	return &Health{log: log, reason: "starting"}
}

// Register adds the probe handlers to mux.
func (h *Health) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", h.serveReady)
}

// Update sets readiness; reason says why it is not ready.
func (h *Health) Update(ready bool, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ready == h.ready && reason == h.reason {
		return
	}
	h.ready, h.reason = ready, reason
	h.log.Info("readiness changed", "ready", ready, "reason", reason)
}

func (h *Health) serveReady(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	ready, reason := h.ready, h.reason
	h.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %s\n", reason)
		return
	}
	fmt.Fprintln(w, "ok")
}
