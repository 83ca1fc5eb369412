package worker

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
)

// Limiter caps how many connections its listener has open at once. At the
// cap, Accept waits and new connections wait in the kernel's accept queue:
// none is refused, and shardinit's stuck detection sees the queue. The
// limit can change while it serves.
type Limiter struct {
	net.Listener
	mu     sync.Mutex
	freed  *sync.Cond
	limit  int // 0: unlimited
	inUse  int
	closed bool
}

// Limit wraps l so that at most max connections are open at once; 0 means
// no limit.
func Limit(l net.Listener, max int) *Limiter {
	lim := &Limiter{Listener: l, limit: max}
	lim.freed = sync.NewCond(&lim.mu)
	return lim
}

// LimitFromEnv wraps l with the limit in SHARDINIT_MAX_CONNS (none when
// the variable is not set).
func LimitFromEnv(l net.Listener) (*Limiter, error) {
	max := 0
	if v := os.Getenv("SHARDINIT_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("SHARDINIT_MAX_CONNS=%q is not a number of connections", v)
		}
		max = n
	}
	return Limit(l, max), nil
}

// SetLimit changes the cap; connections above a lowered cap finish
// normally, new ones wait until enough have closed.
func (l *Limiter) SetLimit(max int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limit = max
	l.freed.Broadcast()
}

// Free is how many more connections may open now (-1: no limit).
func (l *Limiter) Free() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limit == 0 {
		return -1
	}
	return max(l.limit-l.inUse, 0)
}

// InUse is how many connections are open.
func (l *Limiter) InUse() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inUse
}

// Accept waits for a free slot, then for a connection.
func (l *Limiter) Accept() (net.Conn, error) {
	l.mu.Lock()
	for !l.closed && l.limit > 0 && l.inUse >= l.limit {
		l.freed.Wait()
	}
	if l.closed {
		l.mu.Unlock()
		return nil, net.ErrClosed
	}
	l.inUse++
	l.mu.Unlock()
	conn, err := l.Listener.Accept()
	if err != nil {
		l.release()
		return nil, err
	}
	return &limitedConn{Conn: conn, release: l.release}, nil
}

// Close stops Accept, also one waiting for a free slot.
func (l *Limiter) Close() error {
	l.mu.Lock()
	l.closed = true
	l.freed.Broadcast()
	l.mu.Unlock()
	return l.Listener.Close()
}

func (l *Limiter) release() {
	l.mu.Lock()
	l.inUse--
	l.freed.Signal()
	l.mu.Unlock()
}

// limitedConn gives its slot back once, however often it is closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
