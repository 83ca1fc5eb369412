package health

import (
	"encoding/json"
	"net/http"
	"os"
	"time"

	"github.com/shardinit/shardinit/pkg/spawn"
)

// Report is the JSON that /status answers (and `shardinit status` shows).
type Report struct {
	// PID is shardinit's, in its own PID namespace (1 in a container).
	PID int `json:"pid"`
	// StartTicks is when shardinit started, in clock ticks after boot (field
	// 22 of /proc/PID/stat). PIDs repeat across containers; with the start
	// time a client can tell whether the PID it sees is this shardinit.
	StartTicks uint64 `json:"start_ticks,omitempty"`
	Phase      string `json:"phase"`
	Rolling    bool   `json:"rolling"`
	// RestartSignal is what `shardinit restart` sends to PID.
	RestartSignal string           `json:"restart_signal,omitempty"`
	Ready         bool             `json:"ready"`
	MinReady      int              `json:"min_ready"`
	CPU           CPUReport        `json:"cpu"`
	Slots         []SlotReport     `json:"slots"`
	Listeners     []ListenerReport `json:"listeners"`
}

// CPUReport is the CPU limit the pool was sized from.
type CPUReport struct {
	// Limit is in CPUs; 0: no limit.
	Limit      float64 `json:"limit"`
	Cpuset     int     `json:"cpuset"`
	Workers    int     `json:"workers"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	// Following says that the pool scales when the limit changes.
	Following bool `json:"following"`
}

// SlotReport is one worker slot.
type SlotReport struct {
	Slot       int    `json:"slot"`
	State      string `json:"state"`
	PID        int    `json:"pid"`
	Generation int    `json:"generation"`
	Restarts   int    `json:"restarts"`
	// Uptime is how long the current worker has run, in seconds.
	Uptime   float64 `json:"uptime_seconds"`
	LastExit string  `json:"last_exit"`
	// StatusLine is the worker's last STATUS= message.
	StatusLine string `json:"status"`
	Successor  int    `json:"successor,omitempty"`
	Retiring   []int  `json:"retiring,omitempty"`
	// Leftovers are processes that an exited worker of this slot left
	// behind, until they are stopped (SIGKILL after --stop-timeout).
	Leftovers []int `json:"leftovers,omitempty"`
}

// ListenerReport is one listener and its sockets.
type ListenerReport struct {
	Name    string        `json:"name"`
	Address string        `json:"address"`
	Shared  bool          `json:"shared"`
	Shards  []ShardReport `json:"shards"`
}

// ShardReport is one socket's accept queue.
type ShardReport struct {
	Shard    int `json:"shard"`
	Queued   int `json:"queued"`
	Capacity int `json:"capacity"`
}

func (h *Health) report(now time.Time) Report {
	st, _ := h.snapshot()
	r := Report{PID: os.Getpid(), StartTicks: selfStartTicks, Phase: string(st.Phase), Rolling: st.Rolling, RestartSignal: h.opts.RestartSignal,
		Ready: st.Ready(), MinReady: st.MinReady,
		CPU:   CPUReport{Limit: st.CPU.Limit, Cpuset: st.CPU.Cpuset, Workers: st.CPU.Workers, GOMAXPROCS: st.CPU.GOMAXPROCS, Following: st.FollowsCPU},
		Slots: make([]SlotReport, len(st.Slots)), Listeners: []ListenerReport{}}
	for i, sl := range st.Slots {
		r.Slots[i] = slotReport(sl, now)
	}
	if h.opts.Listeners == nil {
		return r
	}
	for _, l := range h.opts.Listeners.State() {
		lr := ListenerReport{Name: l.Name, Address: l.Bound, Shared: l.Shared, Shards: []ShardReport{}}
		for shard, q := range l.Queues {
			lr.Shards = append(lr.Shards, ShardReport{Shard: shard, Queued: q.Length, Capacity: q.Capacity})
		}
		r.Listeners = append(r.Listeners, lr)
	}
	return r
}

func slotReport(sl spawn.SlotSnapshot, now time.Time) SlotReport {
	r := SlotReport{Slot: sl.Slot, State: sl.State, PID: sl.PID, Generation: sl.Generation,
		Restarts: sl.Restarts, LastExit: sl.LastExit, StatusLine: sl.StatusLine, Successor: sl.Successor, Retiring: sl.Retiring, Leftovers: sl.Leftovers}
	if sl.PID != 0 {
		r.Uptime = now.Sub(sl.Started).Seconds()
	}
	return r
}

func (h *Health) serveStatus(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(h.report(time.Now()))
}
