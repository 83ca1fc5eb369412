package listen

import (
	"slices"
	"testing"
)

// Load steering sends new connections only to the shards it does not
// avoid, gives way to the pool's steering, and is forgotten when the
// shards change.
func TestSteerLoad(t *testing.T) {
	set := bind(t, 3, Options{Mode: Balanced}, "http=127.0.0.1:0")
	l := set.Listeners[0]
	if _, err := set.SteerLoad([]int{1}); err != nil {
		t.Fatal(err)
	}
	if got := landed(t, l, 100); got[1] != 0 || got[0] == 0 || got[2] == 0 {
		t.Errorf("steered away from shard 1 by load, connections landed %v", got)
	}
	if err := set.Steer(2); err != nil {
		t.Fatal(err)
	}
	if got := landed(t, l, 100); got[2] != 0 || got[1] == 0 {
		t.Errorf("the pool steered away from shard 2 after the load's shard 1: connections landed %v", got)
	}
	if n, _ := set.SteerLoad([]int{0}); n != 0 {
		t.Errorf("SteerLoad changed %d listeners while the pool steers", n)
	}
	if err := set.Unsteer(); err != nil {
		t.Fatal(err)
	}
	if got := landed(t, l, 100); slices.Contains(got, 0) {
		t.Errorf("unsteered, connections landed %v, want some on every shard", got)
	}
	if _, err := set.SteerLoad([]int{0}); err != nil {
		t.Fatal(err)
	}
	if _, err := set.AddShard(false); err != nil {
		t.Fatal(err)
	}
	if l.loaded != nil {
		t.Errorf("a new shard left load steering %v", l.loaded)
	}
	if got := landed(t, l, 200); slices.Contains(got, 0) {
		t.Errorf("after a scale-up, connections landed %v, want some on every shard", got)
	}
}
