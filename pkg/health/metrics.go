package health

import (
	"runtime"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shardinit/shardinit/internal/procstat"
	"github.com/shardinit/shardinit/pkg/listen"
	"github.com/shardinit/shardinit/pkg/spawn"
)

// The metric names are a public interface: docs/health-and-metrics.md
// lists them. Each
// is declared here once; desc adds it to described and MetricNames.
var (
	descWorkers       = desc("shardinit_workers", "Workers by state; restarting counts slots waiting for their next worker.", "state")
	descStarts        = desc("shardinit_worker_starts_total", "Workers started.")
	descExits         = desc("shardinit_worker_exits_total", "Worker exits by reason: stopped (asked to by shardinit), clean (exit 0), error (non-zero exit), signal.", "reason")
	descRestarts      = desc("shardinit_worker_restarts_total", "Workers started to replace an earlier one, by reason: crash (it exited or died unasked), stuck, watchdog, roll.", "reason")
	descOrphans       = desc("shardinit_orphans_reaped_total", "Orphaned descendants of workers reaped.")
	descSignals       = desc("shardinit_signals_received_total", "Signals shardinit received, by name.", "signal")
	descQueueLength   = desc("shardinit_listener_queue_length", "Connections waiting in a socket's accept queue.", "listener", "shard")
	descQueueCapacity = desc("shardinit_listener_queue_capacity", "A socket's accept queue capacity (its backlog).", "listener", "shard")
	descOverflows     = desc("shardinit_listen_overflows_total", "Connections refused because an accept queue was full, in shardinit's network namespace (ListenOverflows).")
	descDrops         = desc("shardinit_listen_drops_total", "Connections dropped at a listener, in shardinit's network namespace (ListenDrops).")
	descStuck         = desc("shardinit_stuck_workers_total", "Workers found stuck: their accept queue did not drain for --stuck-timeout.")
	descRolls         = desc("shardinit_rolls_total", "Rolling restarts begun (SIGHUP, shardinit restart).")
	descRollFailures  = desc("shardinit_roll_failures_total", "Successors that exited, failed to start or were not ready within --ready-timeout; each ends its rolling restart.")
	descRolling       = desc("shardinit_rolling", "1 while a rolling restart is under way.")
	descScale         = desc("shardinit_scale_events_total", "Slots added (up, SIGTTIN) and removed (down, SIGTTOU).", "direction")
	descLost          = desc("shardinit_lost_connections_total", "Connections still queued on a shard when a scale-down closed it, or a failed scale-up, and reset (net.ipv4.tcp_migrate_req off).")
	descMoved         = desc("shardinit_moved_connections_total", "Connections still queued on a shard when it closed that the kernel moved to another shard (net.ipv4.tcp_migrate_req on).")
	descScaleFailures = desc("shardinit_scale_failures_total", "Scale-ups that added no slot: error (the new shard or its first worker could not be made; undone), max-workers (refused at --max-workers).", "reason")
	descReady         = desc("shardinit_ready", "1 while /readyz answers 200.")
	descDraining      = desc("shardinit_draining", "1 from a stop request until shardinit exits.")
	descRejected      = desc("shardinit_notify_rejected_total", "sd_notify messages refused: sent to one worker's socket by a process of another worker.")
	descLeftovers     = desc("shardinit_leftover_processes", "Processes that exited workers left behind, while they are being stopped.")
	descBuildInfo     = desc("shardinit_build_info", "Always 1; the labels name the build.", "version", "revision", "goversion", "goarch")
	descSlots         = desc("shardinit_slots", "Worker slots: the size of the pool now (live scaling changes it).")
	descStartToReady  = desc("shardinit_worker_start_to_ready_seconds", "How long each worker took from its start until it was ready (--ready-on).")
	descRollDuration  = desc("shardinit_roll_duration_seconds", "How long each rolling restart took, from the signal to its last handover; aborted ones are not counted.")
	descSlotMemory    = desc("shardinit_worker_resident_memory_bytes", "Resident memory of each slot's worker and the processes it started (its session).", "slot")
	descSlotCPU       = desc("shardinit_worker_cpu_seconds_total", "CPU time (user and system) of each slot's worker and the processes it started that are still running; it starts over with each new worker.", "slot")
	descCPULimit      = desc("shardinit_cpu_limit", "The container's CPU limit in CPUs (quota/period), as the pool last read it; 0: no limit.")
	descCPUChanges    = desc("shardinit_cpu_limit_changes_total", "Changes of the CPU limit the pool followed (--workers 0, --cpu-limit-check).")
	descMinReady      = desc("shardinit_min_ready", "Slots with a ready worker that /readyz needs to pass (--min-ready; every slot when 0).")

	workerStates = []string{spawn.StateStarting, spawn.StateReady, spawn.StateStuck, spawn.StateStopping, spawn.StateRestarting}
	exitReasons  = []string{"stopped", "clean", "error", "signal"}
)

var (
	// described is every shardinit_* metric, for Describe.
	described []*prometheus.Desc
	// MetricNames lists every shardinit_* metric, as documented.
	MetricNames []string
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc(name, help, labels, nil)
	described, MetricNames = append(described, d), append(MetricNames, name)
	return d
}

// collector builds every shardinit_* metric at scrape time from the last
// snapshot and the sockets, so that no work is done when nobody scrapes.
type collector struct{ h *Health }

func newCollector(h *Health) prometheus.Collector { return collector{h} }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range described {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	st, _ := c.h.snapshot()
	collectWorkers(ch, st)
	collectCounters(ch, st.Counters)
	ch <- gaugeOf(descReady, boolFloat(st.Ready()))
	ch <- gaugeOf(descDraining, boolFloat(st.Phase != "" && st.Phase != spawn.Running))
	ch <- gaugeOf(descRolling, boolFloat(st.Rolling))
	ch <- gaugeOf(descBuildInfo, 1, c.h.opts.Version, c.h.opts.Revision, runtime.Version(), runtime.GOARCH)
	ch <- gaugeOf(descSlots, float64(len(st.Slots)))
	ch <- gaugeOf(descMinReady, float64(st.MinReady))
	ch <- gaugeOf(descCPULimit, st.CPU.Limit)
	if c.h.opts.Listeners != nil {
		collectQueues(ch, c.h.opts.Listeners)
	}
	if n, err := listen.ReadNetstat(); err == nil {
		ch <- counterOf(descOverflows, float64(n.ListenOverflows))
		ch <- counterOf(descDrops, float64(n.ListenDrops))
	}
}

func collectWorkers(ch chan<- prometheus.Metric, st spawn.Snapshot) {
	byState := map[string]int{}
	for _, sl := range st.Slots {
		byState[sl.State]++
		byState[spawn.StateStopping] += len(sl.Retiring)
		if sl.Successor != 0 {
			byState[spawn.StateStarting]++
		}
	}
	for _, state := range workerStates {
		ch <- gaugeOf(descWorkers, float64(byState[state]), state)
	}
	leftovers := 0
	for _, sl := range st.Slots {
		leftovers += len(sl.Leftovers)
	}
	ch <- gaugeOf(descLeftovers, float64(leftovers))
	collectUsage(ch, st)
}

// collectUsage reads each slot's worker's session from /proc at scrape
// time: one look at /proc for every slot.
func collectUsage(ch chan<- prometheus.Metric, st spawn.Snapshot) {
	workers := map[int]bool{}
	for _, sl := range st.Slots {
		if sl.PID != 0 {
			workers[sl.PID] = true
		}
	}
	usage := procstat.BySession(workers)
	for _, sl := range st.Slots {
		if u, ok := usage[sl.PID]; ok && sl.PID != 0 {
			slot := strconv.Itoa(sl.Slot)
			ch <- gaugeOf(descSlotMemory, float64(u.ResidentBytes), slot)
			ch <- counterOf(descSlotCPU, u.CPUSeconds, slot)
		}
	}
}

func collectCounters(ch chan<- prometheus.Metric, c spawn.Counters) {
	ch <- counterOf(descStarts, float64(c.Starts))
	ch <- counterOf(descCPUChanges, float64(c.CPULimitChanges))
	ch <- histogramOf(descStartToReady, c.StartToReady)
	ch <- histogramOf(descRollDuration, c.RollDurations)
	for _, reason := range spawn.RestartReasons {
		ch <- counterOf(descRestarts, float64(c.Restarts[reason]), reason)
	}
	ch <- counterOf(descOrphans, float64(c.OrphansReaped))
	ch <- counterOf(descStuck, float64(c.StuckWorkers))
	ch <- counterOf(descRolls, float64(c.Rolls))
	ch <- counterOf(descRollFailures, float64(c.RollFailures))
	ch <- counterOf(descScale, float64(c.ScaleUps), "up")
	ch <- counterOf(descScale, float64(c.ScaleDowns), "down")
	ch <- counterOf(descLost, float64(c.LostConnections))
	ch <- counterOf(descMoved, float64(c.MovedConnections))
	ch <- counterOf(descScaleFailures, float64(c.ScaleFailures), "error")
	ch <- counterOf(descScaleFailures, float64(c.ScaleRefused), "max-workers")
	ch <- counterOf(descRejected, float64(c.NotifyRejected))
	for _, reason := range exitReasons {
		ch <- counterOf(descExits, float64(c.Exits[reason]), reason)
	}
	// The stop signals are always there, so the family exists before any
	// signal arrived.
	for _, sig := range []string{"SIGTERM", "SIGINT", "SIGHUP"} {
		if _, ok := c.Signals[sig]; !ok {
			ch <- counterOf(descSignals, 0, sig)
		}
	}
	for sig, n := range c.Signals {
		ch <- counterOf(descSignals, float64(n), sig)
	}
}

func collectQueues(ch chan<- prometheus.Metric, set *listen.Set) {
	for _, l := range set.State() {
		for shard, q := range l.Queues {
			label := strconv.Itoa(shard)
			ch <- gaugeOf(descQueueLength, float64(q.Length), l.Name, label)
			ch <- gaugeOf(descQueueCapacity, float64(q.Capacity), l.Name, label)
		}
	}
}

func histogramOf(d *prometheus.Desc, h spawn.Histogram) prometheus.Metric {
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum, h.Cumulative())
}

func gaugeOf(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counterOf(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
