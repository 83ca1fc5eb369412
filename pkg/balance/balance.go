package balance

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultInterval is how often the balancer samples while connections
// arrive: about the time a connection waits before the steering sees
// its worker busy.
const DefaultInterval = time.Millisecond

// quietAfter is how long the balancer keeps sampling after the last new
// connection, with nothing to avoid, before it waits in epoll again.
const quietAfter = 100 * time.Millisecond

// Shards are what the balancer watches and steers (a *listen.Set).
type Shards interface {
	// ShardFDs lists, per shard, its sockets of every per-worker listener.
	ShardFDs() [][]int
	// Waiting counts, per shard below n, the connections waiting to be
	// accepted, and says how many sockets it read.
	Waiting(n int, counts []int) int
	// SteerLoad steers new connections away from the given shards; empty
	// gives the kernel its spreading back. It says how many listeners
	// changed.
	SteerLoad(away []int) (int, error)
}

// Workers says which process serves each shard now (0: none; the slice is
// read before the next call, which may reuse it), and whether
// the pool steers itself (a roll, a handover, a scale-down, a drain).
type Workers func() (pids []int, hold bool)

// Config is what Run needs. Zero values take the defaults noted.
type Config struct {
	Shards  Shards
	Workers Workers
	// Interval is how often it samples while connections arrive. Default
	// DefaultInterval.
	Interval time.Duration
	// Logger defaults to slog.Default(); Registerer, when set, gets the
	// balancer's metrics.
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// MetricNames lists the balancer's metrics, as documented.
var MetricNames = []string{"shardinit_balance_samples_total", "shardinit_balance_steers_total",
	"shardinit_balance_syscalls_total", "shardinit_balance_avoided_shards"}

// metrics are the balancer's counters.
type metrics struct {
	samples, steers, syscalls prometheus.Counter
	avoided                   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		samples: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricNames[0],
			Help: "Looks at the shards' queues and workers (--sockets balanced): while new connections arrive, and once a second at idle."}),
		steers: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricNames[1],
			Help: "Changes of the shards that new connections are steered away from by load."}),
		syscalls: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricNames[2],
			Help: "Syscalls the balancer made: its cost in shardinit."}),
		avoided: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricNames[3],
			Help: "Shards that new connections avoid now because of load."}),
	}
	if reg != nil {
		reg.MustRegister(m.samples, m.steers, m.syscalls, m.avoided)
	}
	return m
}

func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
