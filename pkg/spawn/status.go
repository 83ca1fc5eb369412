package spawn

import "time"

// Phase is where the pool is in its life.
type Phase string

const (
	Running  Phase = "running"  // workers serve; crashed ones are replaced
	Draining Phase = "draining" // a stop was asked for: not ready, still serving
	Stopping Phase = "stopping" // the stop signal went out; waiting for exits
	Killing  Phase = "killing"  // --stop-timeout passed; SIGKILL went out
)

// Worker and slot states, as a Snapshot and the metrics report them.
const (
	StateStarting   = "starting"   // started, not ready yet
	StateReady      = "ready"      // serving
	StateStuck      = "stuck"      // its queue does not drain
	StateStopping   = "stopping"   // asked to stop
	StateRestarting = "restarting" // a slot waiting for its next worker
	StateStopped    = "stopped"    // a slot that will get no worker
)

// Snapshot is the pool as it was at the end of a pass of the supervisor's
// loop, as Pool.Snapshot returns it.
type Snapshot struct {
	Phase Phase
	// MinReady is how many ready slots make the pool ready.
	MinReady int
	// Rolling says that a rolling restart is under way.
	Rolling bool
	// Changing says that a roll, a handover or a scale-down is under way:
	// the pool steers new connections itself.
	Changing bool
	// CPU is the share of the CPU limit the pool was sized from, as last
	// read; FollowsCPU says that the pool follows its changes.
	CPU        CPUShare
	FollowsCPU bool
	Slots      []SlotSnapshot
	Counters   Counters
}

// CPUShare is what the CPU limit gives the pool.
type CPUShare struct {
	Limit      float64 // CPUs (quota/period); 0: no limit
	Cpuset     int     // CPUs the pool may run on
	Workers    int     // the pool's size for them
	GOMAXPROCS int     // each worker's share, for Go workers
}

// SlotSnapshot describes one worker slot.
type SlotSnapshot struct {
	Slot int
	// State is the current worker's state, or restarting/stopped when the
	// slot has no worker.
	State string
	// PID is the current worker's, 0 while the slot has none.
	PID int
	// Generation counts the workers this slot has had, from 1.
	Generation int
	// Restarts counts the workers started after the first.
	Restarts int
	// Started is when the current worker was started.
	Started time.Time
	// LastExit describes how the previous worker ended ("" if none did).
	LastExit string
	// StatusLine is the worker's last STATUS= message.
	StatusLine string
	// Successor is the PID of a rolling restart's new worker that is not
	// ready yet; 0 if none.
	Successor int
	// Retiring lists replaced workers that are still stopping.
	Retiring []int
	// Leftovers lists processes that exited workers of this slot left
	// behind (their session's), while they are being stopped.
	Leftovers []int
}

// Why a worker replaced an earlier one, as Counters.Restarts counts it. A
// crash loop shows as crash (or stuck, or watchdog); a deploy as roll.
const (
	RestartCrash    = "crash"    // the worker exited or died unasked (any exit code)
	RestartStuck    = "stuck"    // its accept queue did not drain for StuckTimeout
	RestartWatchdog = "watchdog" // it sent no WATCHDOG=1 within Watchdog
	RestartRoll     = "roll"     // a rolling restart replaced it
	RestartLifetime = "lifetime" // it ran for MaxWorkerLifetime
	RestartMemory   = "memory"   // its resident memory passed MaxWorkerMemory
	RestartScale    = "scale"    // the CPU limit changed its GOMAXPROCS
)

// RestartReasons lists every reason, so that each is counted from zero.
var RestartReasons = []string{RestartCrash, RestartStuck, RestartWatchdog, RestartRoll, RestartLifetime, RestartMemory, RestartScale}

// Counters are totals since shardinit started.
type Counters struct {
	Starts, OrphansReaped, StuckWorkers uint64
	// Restarts counts workers started to replace an earlier one, by
	// reason: RestartCrash, RestartStuck, RestartWatchdog, RestartRoll,
	// RestartLifetime, RestartMemory, RestartScale.
	Restarts map[string]uint64
	// Rolls counts rolling restarts begun; RollFailures the slots whose
	// successor did not become ready (each ends its roll).
	Rolls, RollFailures uint64
	// ScaleUps and ScaleDowns count slots added and removed;
	// LostConnections the connections still queued on a removed shard and
	// reset, MovedConnections those the kernel moved to another shard
	// (net.ipv4.tcp_migrate_req).
	ScaleUps, ScaleDowns, LostConnections, MovedConnections uint64
	// ScaleFailures counts scale-ups undone because the new shard or its
	// first worker could not be made; ScaleRefused those refused at
	// MaxWorkers.
	ScaleFailures, ScaleRefused uint64
	// NotifyRejected counts sd_notify messages refused because a process
	// of one worker sent them to another worker's socket.
	NotifyRejected uint64
	// Exits by reason: "stopped" (asked to by shardinit), "clean" (exit 0),
	// "error" (non-zero exit), "signal" (killed by a signal).
	Exits map[string]uint64
	// Signals received, by name.
	Signals map[string]uint64
	// StartToReady is how long each worker took from its start until it
	// was ready; RollDurations how long each rolling restart that was not
	// aborted took, from the signal to its last handover.
	StartToReady, RollDurations Histogram
	// CPULimitChanges counts the changes of the CPU limit's share that the
	// pool followed.
	CPULimitChanges uint64
}

// ReadySlots counts the slots whose worker is ready.
func (s Snapshot) ReadySlots() int {
	n := 0
	for _, sl := range s.Slots {
		if sl.State == StateReady {
			n++
		}
	}
	return n
}

// Ready reports whether at least MinReady slots have a ready worker and no
// stop is under way.
func (s Snapshot) Ready() bool {
	return s.Phase == Running && len(s.Slots) > 0 && s.ReadySlots() >= s.MinReady
}

// Stuck lists the slots whose worker is stuck.
func (s Snapshot) Stuck() []int {
	var stuck []int
	for _, sl := range s.Slots {
		if sl.State == StateStuck {
			stuck = append(stuck, sl.Slot)
		}
	}
	return stuck
}
