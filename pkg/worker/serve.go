package worker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Serve is all a Go HTTP worker needs: it takes the listeners shardinit
// passed (Inherited) and serves srv on them as ServeListeners does.
func Serve(srv *http.Server, grace time.Duration) error {
	inherited, err := Inherited()
	if err != nil {
		return err
	}
	listeners := make([]net.Listener, len(inherited))
	for i, l := range inherited {
		listeners[i] = l.Listener
	}
	return ServeListeners(srv, listeners, grace)
}

// ServeListeners caps each listener at SHARDINIT_MAX_CONNS connections when
// that is set (LimitFromEnv), serves srv on them and says READY=1; on
// SIGTERM or SIGINT it says STOPPING=1 and drains (ServeHTTP) within grace.
// It is Serve for sockets that came some other way than from shardinit.
func ServeListeners(srv *http.Server, listeners []net.Listener, grace time.Duration) error {
	closeAll := func() {
		for _, l := range listeners {
			l.Close()
		}
	}
	limited := make([]net.Listener, len(listeners))
	for i, l := range listeners {
		lim, err := LimitFromEnv(l)
		if err != nil {
			closeAll()
			return err
		}
		limited[i] = lim
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	context.AfterFunc(ctx, func() { Stopping() })
	if err := Ready(); err != nil {
		closeAll()
		return err
	}
	return ServeHTTP(ctx, srv, limited, grace)
}

// ServeHTTP serves srv on every listener until ctx ends, then drains
// without failing a request and returns nil once the server has stopped.
//
// net/http's Shutdown alone can fail requests while another process takes
// the same socket (a rolling restart's successor, a scale-down's other
// shards): it closes a connection whose request it reads after Shutdown
// began, and it closes idle keep-alive connections at once, racing a
// client that is sending its next request on one. So ServeHTTP closes the
// listeners first; every later response says "Connection: close"; the
// open connections get up to grace to finish that way; Shutdown then
// closes what is left and waits for handlers in flight (bounded by grace
// again).
//
// With SHARDINIT_MAX_CONN_AGE set (MaxConnAgeFromEnv), an HTTP/1.1
// connection older than that, plus up to a tenth more, is asked to close
// after its current response, so that its client reconnects and the new
// connection is placed by the kernel (or shardinit's steering) afresh.
func ServeHTTP(ctx context.Context, srv *http.Server, listeners []net.Listener, grace time.Duration) error {
	maxAge, err := MaxConnAgeFromEnv()
	if err != nil {
		return err
	}
	d := &drainer{maxAge: maxAge}
	srv.Handler = d.wrap(handlerOf(srv))
	d.track(srv)
	d.age(srv)
	var serving sync.WaitGroup
	errs := make(chan error, len(listeners))
	for _, l := range listeners {
		serving.Add(1)
		go func() {
			defer serving.Done()
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				errs <- err
			}
		}()
	}
	select {
	case <-ctx.Done():
	case err := <-errs:
		srv.Close()
		return err
	}
	d.draining.Store(true)
	for _, l := range listeners {
		l.Close()
	}
	serving.Wait() // nothing is accepted after this
	d.wait(grace)
	shutdown, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	return srv.Shutdown(shutdown)
}

func handlerOf(srv *http.Server) http.Handler {
	if srv.Handler != nil {
		return srv.Handler
	}
	return http.DefaultServeMux
}

// drainer counts open connections and, once draining, asks each to close
// after its current response.
type drainer struct {
	draining atomic.Bool
	open     sync.WaitGroup
	seen     sync.Map
	maxAge   time.Duration // 0: connections may live for ever
}

// connEnd is the context key of the time after which a connection is
// asked to close.
type connEnd struct{}

func (d *drainer) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		end, aged := r.Context().Value(connEnd{}).(time.Time)
		if d.draining.Load() || (aged && time.Now().After(end)) {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// age gives each new connection its end of life, with up to a tenth of
// jitter so that connections opened together do not all end together.
func (d *drainer) age(srv *http.Server) {
	if d.maxAge <= 0 {
		return
	}
	next := srv.ConnContext
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if next != nil {
			ctx = next(ctx, c)
		}
		return context.WithValue(ctx, connEnd{}, time.Now().Add(d.maxAge+rand.N(d.maxAge/10+1)))
	}
}

// MaxConnAgeFromEnv reads SHARDINIT_MAX_CONN_AGE: a duration ("30s",
// "5m") or a number of seconds; 0 or unset: no limit.
func MaxConnAgeFromEnv() (time.Duration, error) {
	v := os.Getenv("SHARDINIT_MAX_CONN_AGE")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		secs, perr := strconv.ParseFloat(v, 64)
		if perr != nil || secs < 0 || secs > float64(math.MaxInt64/int64(time.Second)) {
			return 0, fmt.Errorf("SHARDINIT_MAX_CONN_AGE=%q is not a duration (30s, 5m) or a number of seconds", v)
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d < 0 {
		return 0, fmt.Errorf("SHARDINIT_MAX_CONN_AGE=%q is negative", v)
	}
	return d, nil
}

func (d *drainer) track(srv *http.Server) {
	next := srv.ConnState
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
		if next != nil {
			next(c, state)
		}
	}
}

// wait blocks until every connection has closed, or grace has passed.
func (d *drainer) wait(grace time.Duration) {
	closed := make(chan struct{})
	go func() { d.open.Wait(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(grace):
	}
}
