package spawn

import (
	"testing"
	"time"
)

func TestBacklog(t *testing.T) {
	start := time.Unix(1000, 0)
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	for _, c := range []struct {
		name    string
		samples []int // one a second
		stuck   bool
	}{
		{"empty queue", []int{0, 0, 0, 0, 0}, false},
		{"grows and stays", []int{0, 3, 5, 5, 5}, true},
		{"shrinks now and then", []int{4, 5, 3, 6, 4}, false},
		{"drains once", []int{4, 5, 0, 2, 3}, false},
		{"stuck only from the second sample on", []int{2, 2, 2}, false},
	} {
		var b backlog
		stuck := false
		for i, q := range c.samples {
			stuck = b.observe(q, at(i), 3*time.Second)
		}
		if stuck != c.stuck {
			t.Errorf("%s: stuck = %v, want %v", c.name, stuck, c.stuck)
		}
	}
}

func TestSampleEvery(t *testing.T) {
	for timeout, want := range map[time.Duration]time.Duration{
		time.Second: time.Second, 2 * time.Second: time.Second, 30 * time.Second: 6 * time.Second,
	} {
		if got := sampleEvery(timeout); got != want {
			t.Errorf("sampleEvery(%s) = %s, want %s", timeout, got, want)
		}
	}
}
