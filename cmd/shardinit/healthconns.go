package main

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// connLimit caps how many connections the health server has open at once,
// so that no number of clients can exhaust shardinit's file descriptors,
// memory or goroutines. At the cap, Accept first closes the connection
// that has done nothing the longest: a keep-alive connection between
// requests, or one that has sent nothing for healthLimits.silent. A new
// probe then does not wait behind connections that only sit there. When
// every open connection is in a request, Accept waits until one closes or
// goes idle, and new connections wait in the kernel's accept queue, where
// they cost shardinit nothing; the server's timeouts bound that wait.
// Closing busy connections instead would let a crowd of clients cut off
// every probe half way.
//
// An idle connection that is closed just as its client sends the next
// request loses that request, as with any server's idle timeout; HTTP
// clients retry a GET on a reused connection that was closed.
type connLimit struct {
	net.Listener
	max    int
	silent time.Duration
	mu     sync.Mutex
	// changed is signalled when a connection closes or goes idle, when a
	// silent one may be closed, and on Close.
	changed *sync.Cond
	inUse   int // accepted and not closed, or reserved by Accept
	open    map[*limitedConn]struct{}
	wake    *time.Timer // for a silent connection that is not old enough yet
	closed  bool
}

// newConnLimit makes a limit for the listener that wrap is given later;
// the server's ConnState must be its trackState.
func newConnLimit(max int, silent time.Duration) *connLimit {
	cl := &connLimit{max: max, silent: silent, open: map[*limitedConn]struct{}{}}
	cl.changed = sync.NewCond(&cl.mu)
	return cl
}

// wrap makes l the limited listener, before the server's Serve.
func (l *connLimit) wrap(ln net.Listener) net.Listener {
	l.Listener = ln
	return l
}

// limitedConn is one accepted connection and what it is doing.
type limitedConn struct {
	net.Conn
	l         *connLimit
	once      sync.Once
	idle      bool      // between requests (http.StateIdle)
	fresh     bool      // no byte read yet (http.StateNew)
	idleSince time.Time // when it became idle or was accepted
}

// Accept waits for a free place, then for a connection.
func (l *connLimit) Accept() (net.Conn, error) {
	if err := l.reserve(); err != nil {
		return nil, err
	}
	conn, err := l.Listener.Accept()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.inUse--
		return nil, err
	}
	c := &limitedConn{Conn: conn, l: l, fresh: true, idleSince: time.Now()}
	l.open[c] = struct{}{}
	return c, nil
}

// reserve takes a place for the next connection, closing the longest idle
// one if that is what it takes.
func (l *connLimit) reserve() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for !l.closed && l.inUse >= l.max {
		victim, later := l.idlest(time.Now())
		if victim != nil {
			l.mu.Unlock()
			victim.Close() // gives its place back
			l.mu.Lock()
			continue
		}
		if later > 0 {
			l.wakeIn(later)
		}
		l.changed.Wait()
	}
	if l.closed {
		return net.ErrClosed
	}
	l.inUse++
	return nil
}

// idlest is the connection to close for a new one, if any; otherwise later
// is when a silent connection will have been silent long enough (0: none).
func (l *connLimit) idlest(now time.Time) (victim *limitedConn, later time.Duration) {
	for c := range l.open {
		switch {
		case c.fresh && now.Sub(c.idleSince) < l.silent:
			if wait := l.silent - now.Sub(c.idleSince); later == 0 || wait < later {
				later = wait
			}
		case (c.idle || c.fresh) && (victim == nil || c.idleSince.Before(victim.idleSince)):
			victim = c
		}
	}
	return victim, later
}

// wakeIn signals changed after d; the caller holds mu.
func (l *connLimit) wakeIn(d time.Duration) {
	if l.wake == nil {
		l.wake = time.AfterFunc(d, l.signal)
		return
	}
	l.wake.Reset(d)
}

func (l *connLimit) signal() {
	l.mu.Lock()
	l.changed.Broadcast()
	l.mu.Unlock()
}

// trackState is the server's ConnState: it tells Accept which connections
// are idle.
func (l *connLimit) trackState(conn net.Conn, state http.ConnState) {
	c, ok := conn.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c.fresh = state == http.StateNew
	c.idle = state == http.StateIdle
	if c.idle {
		c.idleSince = time.Now()
		l.changed.Broadcast()
	}
}

// Close stops Accept, also one that waits for a place.
func (l *connLimit) Close() error {
	l.mu.Lock()
	l.closed = true
	if l.wake != nil {
		l.wake.Stop()
	}
	l.changed.Broadcast()
	l.mu.Unlock()
	return l.Listener.Close()
}

// Close gives the connection's place back, once however often it is called.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.open, c)
		c.l.inUse--
		c.l.changed.Broadcast()
		c.l.mu.Unlock()
	})
	return err
}
