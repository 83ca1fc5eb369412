package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// load sends requests to 127.0.0.1:port from several connections until
// stopped, the way wrk does: HTTP/1.1 over raw connections, keep-alive
// honoured until the server says Connection: close, and no retries, so
// every refused, reset or unanswered request counts as failed.
type load struct {
	dial       func(ctx context.Context, network, addr string) (net.Conn, error)
	ok, failed atomic.Int64
	// reusedFailed counts the failures of requests sent on a connection
	// that had carried one already: a keep-alive connection that the
	// server may close while idle, as the request goes out (the server's
	// race, not the pool's). The rest came on a new connection.
	reusedFailed atomic.Int64
	// longest is the longest request on a new connection, from the dial
	// to the end of the answer: how long a slot left it waiting.
	longest  atomic.Int64
	firstErr atomic.Value
	stop     chan struct{}
	done     sync.WaitGroup
}

// startLoad runs conns keep-alive clients and conns that open a connection
// per request; it stops when the test ends at the latest, after maxTime.
func startLoad(t *testing.T, port, conns int, maxTime time.Duration) *load {
	var d net.Dialer
	return startLoadVia(t, d.DialContext, fmt.Sprintf("127.0.0.1:%d", port), conns, maxTime)
}

// startLoadVia is startLoad to addr through dial.
func startLoadVia(t *testing.T, dial func(ctx context.Context, network, addr string) (net.Conn, error),
	addr string, conns int, maxTime time.Duration) *load {
	l := &load{dial: dial, stop: make(chan struct{})}
	deadline := time.Now().Add(maxTime)
	for i := range 2 * conns {
		keepAlive := i%2 == 0
		l.done.Go(func() { l.run(addr, keepAlive, deadline) })
	}
	t.Cleanup(l.finish)
	return l
}

func (l *load) run(addr string, keepAlive bool, deadline time.Time) {
	var conn net.Conn
	var br *bufio.Reader
	reused := false
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for time.Now().Before(deadline) {
		select {
		case <-l.stop:
			return
		default:
		}
		began := time.Now()
		if conn == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			c, err := l.dial(ctx, "tcp", addr)
			cancel()
			if err != nil {
				l.fail(err)
				continue
			}
			conn, br, reused = c, bufio.NewReader(c), false
		}
		reuse, err := request(conn, br, keepAlive)
		if err != nil {
			l.fail(err)
			if reused {
				l.reusedFailed.Add(1)
			}
		} else {
			l.ok.Add(1)
		}
		if !reused {
			l.longer(time.Since(began))
		}
		if err != nil || !reuse {
			conn.Close()
			conn = nil
		}
		reused = true
	}
}

// request sends one GET and reads the whole answer; reuse says whether the
// connection may carry another.
func request(conn net.Conn, br *bufio.Reader, keepAlive bool) (reuse bool, err error) {
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	header := "Host: shardinit\r\n"
	if !keepAlive {
		header += "Connection: close\r\n"
	}
	if _, err := fmt.Fprintf(conn, "GET / HTTP/1.1\r\n%s\r\n", header); err != nil {
		return false, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return false, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %s", resp.Status)
	}
	return keepAlive && !resp.Close, err
}

func (l *load) longer(d time.Duration) {
	for {
		was := l.longest.Load()
		if int64(d) <= was || l.longest.CompareAndSwap(was, int64(d)) {
			return
		}
	}
}

func (l *load) fail(err error) {
	l.failed.Add(1)
	l.firstErr.CompareAndSwap(nil, err.Error())
}

// finish stops the clients and waits for them.
func (l *load) finish() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.done.Wait()
}

func (l *load) String() string {
	s := fmt.Sprintf("%d requests answered, %d failed (%d of them on a reused keep-alive connection), longest on a new connection %s",
		l.ok.Load(), l.failed.Load(), l.reusedFailed.Load(), time.Duration(l.longest.Load()).Round(time.Millisecond))
	if err := l.firstErr.Load(); err != nil {
		s += fmt.Sprintf(" (first: %s)", err)
	}
	return s
}
