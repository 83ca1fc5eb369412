package spawn

import "time"

// backlog follows one slot's accept queue between samples. A queue that
// empties, or shrinks, shows a worker that accepts; one that stays
// non-empty without shrinking for the stuck timeout shows one that does not
// (deadlock, SIGSTOP, an endless pause). A worker overloaded so that its
// queue never shrinks looks the same; replacing it loses nothing, since the
// queue stays with the socket.
type backlog struct {
	since time.Time // when the queue last started to build up; zero: drained
	last  int
}

// observe records a sample and reports whether the queue has not drained
// for timeout.
func (b *backlog) observe(queued int, now time.Time, timeout time.Duration) bool {
	switch {
	case queued == 0:
		b.since = time.Time{}
	case queued < b.last || b.since.IsZero():
		b.since = now
	}
	b.last = queued
	return !b.since.IsZero() && now.Sub(b.since) >= timeout
}

// sampleEvery is how often queues are sampled: often enough to notice a
// stuck worker about when the timeout says, never more than once a second.
func sampleEvery(stuckTimeout time.Duration) time.Duration {
	return max(time.Second, stuckTimeout/5)
}
