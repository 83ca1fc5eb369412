package listen

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"
)

// queues reads the accept-queue length of every shard of l.
func queues(t *testing.T, l *Listener) []int {
	t.Helper()
	out := make([]int, l.Shards())
	for shard := range out {
		q, err := l.Queue(shard)
		if err != nil {
			t.Fatal(err)
		}
		out[shard] = q.Length
	}
	return out
}

// dialMany opens n connections to addr and keeps them open until the test
// ends, so each waits in the queue it reached.
func dialMany(t *testing.T, addr string, n int) {
	t.Helper()
	for range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
}

// landed dials n connections to l and says how many each shard received.
func landed(t *testing.T, l *Listener, n int) []int {
	t.Helper()
	before := queues(t, l)
	dialMany(t, l.Bound, n)
	var after []int
	deadline := time.Now().Add(5 * time.Second)
	for {
		after = queues(t, l)
		sum := 0
		for i := range after {
			after[i] -= before[i]
			sum += after[i]
		}
		if sum == n || time.Now().After(deadline) {
			return after
		}
		time.Sleep(time.Millisecond) // the last handshakes complete
	}
}

func TestSteerAvoidsShards(t *testing.T) {
	set := bind(t, 4, Options{}, "http=127.0.0.1:0")
	l := set.Listeners[0]
	if err := set.Steer(1, 3); err != nil {
		t.Fatal(err)
	}
	got := landed(t, l, 200)
	if got[1] != 0 || got[3] != 0 || got[0] == 0 || got[2] == 0 {
		t.Errorf("steered away from shards 1 and 3, connections landed %v", got)
	}
	if err := set.Unsteer(); err != nil {
		t.Fatal(err)
	}
	if got := landed(t, l, 200); slices.Contains(got, 0) {
		t.Errorf("unsteered, connections landed %v, want some on every shard", got)
	}
}

// Another process's sockets in the group (here another Set, which the
// listener cannot tell from one) are followed as they join; once they
// leave, the order is probed, and steering uses what the probe found.
func TestSteerAfterTheOthersLeft(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "[::1]"} {
		t.Run(host, func(t *testing.T) {
			others := bind(t, 4, Options{}, "http="+host+":0")
			_, port, _ := net.SplitHostPort(others.Listeners[0].Bound)
			set := bind(t, 4, Options{}, fmt.Sprintf("http=%s:%s", host, port))
			l := set.Listeners[0]
			if !l.group.known || !slices.Equal(l.group.pos, []int{4, 5, 6, 7}) || l.group.probes != 0 {
				t.Fatalf("beside 4 other sockets: shards at %v, known %v, probed %d times; want 4..7, known, not probed",
					l.group.pos, l.group.known, l.group.probes)
			}
			set.Refresh()
			others.Close()
			notes := set.Refresh()
			if !slices.Equal(l.group.pos, []int{3, 2, 1, 0}) || len(notes) != 1 {
				t.Fatalf("after the others closed in order: shards at %v, notes %q; want [3 2 1 0] and one note", l.group.pos, notes)
			}
			if err := set.Steer(3); err != nil {
				t.Fatal(err)
			}
			if got := landed(t, l, 200); got[3] != 0 || slices.Contains(got[:3], 0) {
				t.Errorf("steered away from shard 3, connections landed %v", got)
			}
		})
	}
}

// When the order cannot be learned, Steer says so instead of guessing.
func TestSteerRefusesUnknownOrder(t *testing.T) {
	others := bind(t, maxProbed+1, Options{}, "http=127.0.0.1:0")
	set := bind(t, 1, Options{}, "http="+others.Listeners[0].Bound)
	if err := others.Listeners[0].closeShard(0); err != nil {
		t.Fatal(err)
	}
	err := set.Steer(0)
	if !errors.Is(err, ErrOrderUnknown) {
		t.Fatalf("Steer in a group of %d after one left: %v, want ErrOrderUnknown", maxProbed+1, err)
	}
	if set.Listeners[0].steering != nil {
		t.Errorf("steering %v kept after the refusal", set.Listeners[0].steering)
	}
}

func TestDecodeProbe(t *testing.T) {
	l := &Listener{fds: make([]int, 3)}
	shard := func(s int) int { return mssBase + mssStep*s - 12 } // with timestamps
	for _, c := range []struct {
		mss  []int
		want []int
		ok   bool
	}{
		{[]int{shard(2), shard(0), shard(1)}, []int{1, 2, 0}, true},
		{[]int{65471, shard(0), shard(1), 65471, shard(2)}, []int{1, 2, 4}, true},
		{[]int{shard(0), shard(0), shard(1), shard(2)}, nil, false}, // twice
		{[]int{shard(0), shard(1), 0}, nil, false},                  // one not answered
		{[]int{shard(0), shard(1), shard(3)}, nil, false},           // no shard 3
	} {
		got, err := l.decode(c.mss)
		if (err == nil) != c.ok || !slices.Equal(got, c.want) {
			t.Errorf("decode(%v) = %v, %v; want %v, ok %v", c.mss, got, err, c.want, c.ok)
		}
	}
}

// A fenced shard gets no new connection from the moment its socket joins
// until steering says otherwise; one that is not fenced takes its share.
func TestAddShardFenced(t *testing.T) {
	set := bind(t, 2, Options{}, "http=127.0.0.1:0")
	l := set.Listeners[0]
	fresh, err := set.AddShard(true)
	if err != nil {
		t.Fatal(err)
	}
	if got := landed(t, l, 200); got[fresh] != 0 || got[0] == 0 || got[1] == 0 {
		t.Errorf("fenced shard %d: connections landed %v, want none on it", fresh, got)
	}
	if err := set.Unsteer(); err != nil {
		t.Fatal(err)
	}
	if got := landed(t, l, 200); got[fresh] == 0 {
		t.Errorf("fence taken down: connections landed %v, want some on shard %d", got, fresh)
	}
	open, err := set.AddShard(false)
	if err != nil {
		t.Fatal(err)
	}
	if got := landed(t, l, 200); got[open] == 0 {
		t.Errorf("shard %d added without a fence: connections landed %v, want some on it", open, got)
	}
}

// A shard that closes while others are steered away from shrinks the
// group; until the steering is made again for the new order, connections
// still go to none of the shards steered away from. (The program built for
// the larger group could return its last index, which the kernel answers,
// once that is out of range, with its own hash over every socket.)
func TestCloseShardKeepsSteering(t *testing.T) {
	set := bind(t, 4, Options{}, "http=127.0.0.1:0")
	l := set.Listeners[0]
	if err := set.Steer(1, 2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := set.CloseShard(1); err != nil {
		t.Fatal(err)
	}
	// Shard 2 is number 1 now; nothing has steered since the close.
	if got := landed(t, l, 300); got[1] != 0 {
		t.Errorf("after shard 1 closed, connections landed %v: %d on the shard still steered away from", got, got[1])
	}
}
