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

// Status is a snapshot of the pool, handed to Config.OnChange.
type Status struct {
	Phase Phase
	Slots []SlotStatus
}

// SlotStatus describes one worker slot.
type SlotStatus struct {
	Slot int
	// PID is the current worker's, 0 while the slot waits for a restart.
	PID int
	// Generation counts the workers this slot has had, from 1.
	Generation int
	// Restarts counts restarts after an exit.
	Restarts int
	// Started is when the current worker was started.
	Started time.Time
	// LastExit describes how the previous worker ended ("" if none did).
	LastExit string
}

// Ready reports whether every slot has a worker and no stop is under way.
func (s Status) Ready() bool {
	if s.Phase != Running {
		return false
	}
	for _, sl := range s.Slots {
		if sl.PID == 0 {
			return false
		}
	}
	return len(s.Slots) > 0
}
