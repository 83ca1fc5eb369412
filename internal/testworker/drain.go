package testworker

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// drainer stops an http.Server without failing a request, which
// net/http's Shutdown alone does not promise:
//   - Shutdown closes a connection whose request it reads after it began,
//     and a connection accepted just before may not have been read yet;
//   - it closes idle keep-alive connections at once, racing a client that
//     is sending its next request on one.
//
// So the listeners close first, every later response says
// "Connection: close", and the connections are left to finish (bounded by
// drainGrace) before Shutdown closes what is left.
type drainer struct {
	draining atomic.Bool
	open     sync.WaitGroup
	seen     sync.Map
}

const drainGrace = 3 * time.Second

func (d *drainer) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// track counts the open connections.
func (d *drainer) track(srv *http.Server) {
	srv.ConnState = func(c net.Conn, state http.ConnState) {
		switch state {
		case http.StateNew:
			d.seen.Store(c, true)
			d.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			if _, ok := d.seen.LoadAndDelete(c); ok {
				d.open.Done()
			}
		}
	}
}

func (d *drainer) drain(srv *http.Server, ls []net.Listener, serving *sync.WaitGroup) {
	d.draining.Store(true)
	for _, l := range ls {
		l.Close()
	}
	serving.Wait() // no connection is accepted after this
	closed := make(chan struct{})
	go func() { d.open.Wait(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(drainGrace):
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}
