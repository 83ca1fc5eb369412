package spawn

import (
	"testing"
	"time"
)

func TestPolicyRestarts(t *testing.T) {
	for _, c := range []struct {
		policy Policy
		code   int
		want   bool
	}{
		{Always, 0, true}, {Always, 1, true}, {Always, 137, true},
		{OnFailure, 0, false}, {OnFailure, 1, true}, {OnFailure, 143, true},
		{Never, 0, false}, {Never, 1, false},
	} {
		if got := c.policy.restarts(c.code); got != c.want {
			t.Errorf("%s.restarts(%d) = %v, want %v", c.policy, c.code, got, c.want)
		}
	}
	if _, err := ParsePolicy("sometimes"); err == nil {
		t.Errorf("ParsePolicy(sometimes): got no error")
	}
}

// The first restart is immediate; later ones double (with jitter in
// [d/2, d]) up to the most.
func TestBackoff(t *testing.T) {
	const most = DefaultMaxBackoff
	if got := backoff(1, most); got != 0 {
		t.Errorf("backoff(1) = %s, want 0", got)
	}
	for n, d := 2, firstBackoff; n < 12; n, d = n+1, min(2*d, most) {
		for range 50 {
			if got := backoff(n, most); got < d/2 || got > d {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", n, got, d/2, d)
			}
		}
	}
	if got := backoff(1000, most); got > most {
		t.Errorf("backoff(1000) = %s, want at most %s", got, most)
	}
	if got := backoff(1000, time.Second); got > time.Second {
		t.Errorf("backoff(1000) with 1s the most = %s", got)
	}
}

func TestBudget(t *testing.T) {
	start := time.Unix(1000, 0)
	b := budget{max: 3, window: time.Minute}
	for i := range 3 {
		if !b.spend(start.Add(time.Duration(i) * time.Second)) {
			t.Fatalf("restart %d refused, want allowed", i+1)
		}
	}
	if b.spend(start.Add(10 * time.Second)) {
		t.Errorf("4th restart within the window allowed, want refused")
	}
	if !b.spend(start.Add(61 * time.Second)) {
		t.Errorf("restart after the first left the window refused, want allowed")
	}
	unlimited := budget{window: time.Minute}
	for range 1000 {
		if !unlimited.spend(start) {
			t.Fatalf("unlimited budget refused a restart")
		}
	}
}
