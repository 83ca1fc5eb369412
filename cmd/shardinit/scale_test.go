package main

import (
	"net/http"
	"syscall"
	"testing"
	"time"
)

// SIGTTIN adds a slot whose worker takes its share of new connections;
// SIGTTOU removes it again without failing a request or losing a
// connection queued on its shard; readiness holds throughout.
func TestScaleUpAndDownUnderLoad(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, port := startPool(t, start{}, 4, p.flag(), "http")
	p.waitCode("/readyz", http.StatusOK)
	tr := startTraffic(t, p, port, 4)

	in.signal(syscall.SIGTTIN)
	eventually(t, 15*time.Second, "a 5th slot with its own shard", func() bool {
		r := p.status()
		return len(r.Slots) == 5 && r.Slots[4].PID != 0 && len(listenSockets(t, port)) == 5
	})
	slotPIDs(t, port, 5) // every slot, the new one too, answers new connections

	in.signal(syscall.SIGTTOU)
	eventually(t, 15*time.Second, "back to 4 slots and 4 shards", func() bool {
		return len(p.status().Slots) == 4 && len(listenSockets(t, port)) == 4
	})
	slotPIDs(t, port, 4)
	tr.stop(t, "while scaling 4 -> 5 -> 4")
	m := p.metrics()
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"shardinit_scale_events_total", []string{"direction", "up"}, 1},
		{"shardinit_scale_events_total", []string{"direction", "down"}, 1},
		{"shardinit_lost_connections_total", nil, 0},
	} {
		if got := value(m[c.name], c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	in.stopCleanly()
}
