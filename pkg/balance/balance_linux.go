package balance

import (
	"context"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// lookAgain is how often the balancer looks at whether the shards changed
// (a scale, a roll onto fresh shards), idle or not.
const lookAgain = time.Second

// Run steers by load until ctx ends. It returns an error only when it
// cannot start (no epoll); one that steering meets is logged once.
func Run(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	b := &balancer{cfg: cfg, m: newMetrics(cfg.Registerer), busy: newTracker()}
	var err error
	if b.ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fmt.Errorf("balance: epoll_create1: %w", err)
	}
	defer unix.Close(b.ep)
	defer b.busy.close()
	for ctx.Err() == nil {
		b.watch()
		if b.arrivals(int(lookAgain/time.Millisecond)) > 0 || b.busyWhileIdle() {
			b.active(ctx)
		}
	}
	b.steer(nil)
	return nil
}

// busyWhileIdle samples once after a second without an arrival seen, and
// says whether some shard is to be avoided. Epoll reports a listening
// socket only if a connection still waits when it collects the event: a
// worker that accepted first, and is busy with that connection now, is
// found here instead, within a second.
func (b *balancer) busyWhileIdle() bool {
	b.steer(b.sample(time.Now()))
	return len(b.away) > 0
}

// balancer is Run's state; only its goroutine touches it.
type balancer struct {
	cfg     Config
	m       metrics
	busy    *tracker
	ep      int
	watched [][]int     // the shards' sockets in ep
	away    []int       // what is steered away from now
	queued  []int       // per shard: connections waiting
	before  []int       // queued at the sample before
	since   []time.Time // per shard: not idle since; zero: idle
	events  [16]unix.EpollEvent
	warned  bool
}

// watch puts the shards' sockets in the epoll set when they changed: an
// edge-triggered EPOLLIN wakes the balancer on every new connection and
// takes nothing from the workers, who accept as before.
func (b *balancer) watch() {
	fds := b.cfg.Shards.ShardFDs()
	if slices.EqualFunc(fds, b.watched, slices.Equal) {
		return
	}
	for _, shard := range b.watched {
		for _, fd := range shard {
			unix.EpollCtl(b.ep, unix.EPOLL_CTL_DEL, fd, nil) // a closed one left by itself
			b.syscall(1)
		}
	}
	for _, shard := range fds {
		for _, fd := range shard {
			ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: int32(fd)}
			if err := unix.EpollCtl(b.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
				b.warn("balance: watch a shard's socket", err)
			}
			b.syscall(1)
		}
	}
	b.watched = fds
	b.busy.shards(fds)
}

// arrivals waits up to ms milliseconds for new connections and says how
// many sockets had some.
func (b *balancer) arrivals(ms int) int {
	n, err := unix.EpollWait(b.ep, b.events[:], ms)
	b.syscall(1)
	if err != nil {
		return 0 // EINTR: the next wait follows
	}
	return n
}

// active samples while connections arrive or a shard is avoided: every
// Interval, and at once when a connection arrives, at most twice an
// Interval. While nothing needs avoiding (an event-loop server keeps its
// queues empty) the period doubles every 100 samples, up to 8 Intervals;
// the first shard avoided brings it back. Epoll's timeout is the timer: a
// wake on Go's timer costs this goroutine's thread more switches.
func (b *balancer) active(ctx context.Context) {
	now := time.Now()
	lastArrival, lastLook, lastSample := now, now, time.Time{}
	every, calm := b.cfg.Interval, 0
	for ctx.Err() == nil {
		arrived := b.arrivals(max(1, int(every/time.Millisecond))) > 0
		if gap := every/2 - time.Since(lastSample); arrived && gap > 0 {
			ts := unix.NsecToTimespec(gap.Nanoseconds())
			unix.Nanosleep(&ts, nil)
			b.syscall(1)
		}
		now = time.Now()
		lastSample = now
		if arrived {
			lastArrival = now
		}
		b.steer(b.sample(now))
		switch {
		case len(b.away) > 0:
			lastArrival, every, calm = now, b.cfg.Interval, 0
		case calm < 100:
			calm++
		case every < maxSlowdown*b.cfg.Interval:
			every, calm = 2*every, 0
		}
		if now.Sub(lastArrival) > quietAfter {
			return
		}
		if now.Sub(lastLook) > lookAgain {
			b.watch()
			lastLook = now
		}
	}
}

// maxSlowdown is how many Intervals apart samples may grow while nothing
// needs avoiding.
const maxSlowdown = 8

// sample says which shards to avoid now. New connections go to the idle
// shards: no connection waits there and the worker is not busy. With none
// idle they go to the one that stopped being idle last, unless more than
// one connection waits there: one busy for long is likely to stay busy
// (a slow request, a stalled worker), and one that just took a
// connection is about to be free again. When every shard has more than
// one waiting, or while the pool steers itself, none is avoided.
func (b *balancer) sample(now time.Time) []int {
	b.m.samples.Inc()
	pids, hold := b.cfg.Workers()
	if hold {
		return nil
	}
	n := min(len(pids), len(b.watched))
	b.queued = resize(b.queued, n)
	b.since = resize(b.since, n)
	b.before = resize(b.before, n)
	copy(b.before, b.queued)
	b.syscall(b.cfg.Shards.Waiting(n, b.queued))
	var away []int
	newest := -1
	for shard := range n {
		// A queue counts once it waited over two samples: an event loop
		// that accepts within microseconds is not steered at every look.
		busy := b.queued[shard] > 0 && b.before[shard] > 0
		if !busy {
			var reads int
			busy, reads = b.busy.busy(shard, pids[shard], now)
			b.syscall(reads)
		}
		b.since[shard] = startOf(b.since[shard], busy, now)
		if !busy {
			continue
		}
		away = append(away, shard)
		if b.queued[shard] < 2 && (newest < 0 || b.since[shard].After(b.since[newest])) {
			newest = shard
		}
	}
	if len(away) == n {
		away = slices.DeleteFunc(away, func(shard int) bool { return shard == newest })
	}
	if len(away) == n || len(away) == 0 {
		return nil
	}
	return away
}

// startOf is when a state that holds now began: since, or now if it just
// began; zero once it no longer holds.
func startOf(since time.Time, holds bool, now time.Time) time.Time {
	switch {
	case !holds:
		return time.Time{}
	case since.IsZero():
		return now
	}
	return since
}

// resize gives s length n; a shard beyond the old length starts zero.
func resize[T any](s []T, n int) []T {
	if len(s) < n {
		return append(s, make([]T, n-len(s))...)
	}
	return s[:n]
}

// steer applies away when it differs from what is steered now.
func (b *balancer) steer(away []int) {
	if slices.Equal(away, b.away) {
		return
	}
	changed, err := b.cfg.Shards.SteerLoad(away)
	b.syscall(changed)
	if err != nil {
		b.warn("balance: steer", err)
	}
	b.away = slices.Clone(away)
	b.m.steers.Inc()
	b.m.avoided.Set(float64(len(away)))
}

func (b *balancer) syscall(n int) { b.m.syscalls.Add(float64(n)) }

// warn logs the first problem; steering goes on where it can.
func (b *balancer) warn(what string, err error) {
	if !b.warned {
		b.warned = true
		b.cfg.Logger.Warn(what+" (further problems are not logged)", "err", err)
	}
}
