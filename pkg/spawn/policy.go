package spawn

import (
	"math/rand/v2"
	"time"
)

// Policy says which worker exits are followed by a restart of the slot.
type Policy string

const (
	// Always restarts every exit, clean or not (the default).
	Always Policy = "always"
	// OnFailure restarts non-zero and signalled exits; a clean exit ends the
	// slot.
	OnFailure Policy = "on-failure"
	// Never restarts nothing.
	Never Policy = "never"
)

// ParsePolicy checks a --restart value.
func ParsePolicy(s string) (Policy, error) {
	return oneOf(s, Always, OnFailure, Never)
}

func (p Policy) restarts(code int) bool {
	switch p {
	case Never:
		return false
	case OnFailure:
		return code != 0
	}
	return true
}

const (
	// stableAfter is how long a worker must run for its exit to count as a
	// fresh failure rather than part of a crash loop.
	stableAfter = 10 * time.Second
	// firstBackoff is the delay after the second quick crash in a row;
	// Config.MaxBackoff bounds the doubling that follows.
	firstBackoff = 100 * time.Millisecond
)

// backoff is the delay before the restart that follows the n-th quick exit
// in a row (n >= 1). The first restart is immediate: a worker that dies once
// is replaced at once. After that the delay doubles, with jitter so that
// slots that crashed together do not restart in lockstep, up to most.
func backoff(n int, most time.Duration) time.Duration {
	if n <= 1 {
		return 0
	}
	d := firstBackoff
	for i := 2; i < n && d < most; i++ {
		d *= 2
	}
	d = min(d, most)
	return d/2 + rand.N(d/2+1)
}

// budget counts a slot's restarts inside a sliding window.
type budget struct {
	max    int // 0: unlimited
	window time.Duration
	times  []time.Time
}

// spend records a restart at now and reports whether it fits the budget.
func (b *budget) spend(now time.Time) bool {
	if b.max <= 0 {
		return true
	}
	kept := b.times[:0]
	for _, t := range b.times {
		if now.Sub(t) < b.window {
			kept = append(kept, t)
		}
	}
	b.times = kept
	if len(b.times) >= b.max {
		return false
	}
	b.times = append(b.times, now)
	return true
}
