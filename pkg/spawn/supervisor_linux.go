package spawn

import (
	"context"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shardinit/shardinit/internal/accepting"
)

const (
	// reapBackstop catches a SIGCHLD that was lost; reaping is otherwise
	// driven by the signal.
	reapBackstop = 5 * time.Second
	// killGrace bounds the wait for processes after SIGKILL (one stuck in
	// uninterruptible sleep must not hold shardinit forever).
	killGrace = 5 * time.Second
)

// supervisor is the state of one Run. Only the Run goroutine touches it, so
// spawning and reaping never race: a worker is in byPID before wait4 can
// return its PID.
type supervisor struct {
	cfg       Config
	os        osCalls
	log       *slog.Logger
	notifier  *notifier
	preloadFD int // the LD_PRELOAD library's memfd; -1: none
	slots     []*slot
	byPID     map[int]*worker
	bySocket  map[*notifySocket]*worker
	// terminal: shardinit runs in the foreground of its controlling
	// terminal, and the workers share fgGroup, the terminal's foreground
	// process group (0 until a worker made it).
	terminal  bool
	fgGroup   int
	leftovers []*leftover
	nextScan  time.Time // of the leftovers

	phase       Phase
	stopSig     unix.Signal
	drainUntil  time.Time // Draining ends
	killAt      time.Time // Stopping ends
	giveUpAt    time.Time // Killing ends
	lastKill    time.Time
	nextSample  time.Time // of the accept queues, for stuck workers
	nextMemory  time.Time // read of the workers' memory, for --max-worker-memory
	follow      follow
	roll        *roll   // a rolling restart in progress
	shrinking   *shrink // a scale-down in progress
	nudged      bool    // descendants got the stop signal after the workers left
	hasChildren bool    // wait4 last saw children
	exitCode    int
	counters    Counters
	snapshot    *atomic.Pointer[Snapshot] // what publish stores, for Pool.Snapshot
	stopCause   error                     // given to Pool.Stop
}

// slot is one place in the pool, with one shard socket per listener.
type slot struct {
	index      int
	current    *worker // nil while the slot waits for a restart
	successor  *worker // a rolling restart's new worker, until it is ready
	generation int
	restartAt  time.Time // zero unless a restart is pending
	quick      int       // exits in a row that came before stableAfter
	budget     budget
	backlog    backlog
	lastExit   string
	leaving    bool      // being removed by a scale-down
	joining    bool      // added by a scale-up, until its first worker is ready
	handover   *handover // a roll onto a fresh shard
}

// worker is one process. A slot has one current worker, and while it is
// replaced also the predecessors that are still stopping.
type worker struct {
	pid          int
	slot         *slot
	generation   int
	started      time.Time
	ready        bool
	stuck        bool
	status       string            // last STATUS=
	lastPing     time.Time         // last WATCHDOG=1, or readiness
	stopping     bool              // shardinit asked it to stop
	killAt       time.Time         // a replaced worker's SIGKILL; zero otherwise
	readyBy      time.Time         // a successor's deadline (--ready-timeout)
	settleAt     time.Time         // when a successor counts as ready (--ready-on start)
	sockets      accepting.Sockets // with --ready-on accept, until it is seen accepting on them
	nextLook     time.Time         // at them
	warnedUnseen bool
	sock         *notifySocket
	held         []unix.Signal // forwarded signals waiting for readiness
	openAt       time.Time     // with --ready-on start, when held signals go out
	open         bool          // forwarded signals go out at once
	recycleAt    time.Time     // its --max-worker-lifetime is over; zero: none
	gomaxprocs   int           // the GOMAXPROCS it was given; 0: its own
	resident     uint64        // bytes, as last read for --max-worker-memory
	haltedSince  time.Time     // first seen stopped (SIGSTOP) by the stuck detector; zero: running
}

// events are what wakes the loop besides its timers.
type events struct {
	children <-chan os.Signal // SIGCHLD: the loop reaps on every wake
	signals  <-chan os.Signal
	notes    <-chan note
	probes   <-chan chan struct{}
	stops    <-chan error // Pool.Stop
}

func newSupervisor(cfg Config, n *notifier, snapshot *atomic.Pointer[Snapshot]) *supervisor {
	s := &supervisor{cfg: cfg, os: realOS, log: cfg.Logger, notifier: n, snapshot: snapshot, preloadFD: -1, byPID: map[int]*worker{},
		bySocket: map[*notifySocket]*worker{}, phase: Running, follow: follow{seen: cfg.CPU, gomaxprocs: cfg.GOMAXPROCS},
		counters: Counters{Exits: map[string]uint64{}, Signals: map[string]uint64{}, Restarts: map[string]uint64{}}}
	for i := range cfg.Workers {
		s.slots = append(s.slots, &slot{index: i, budget: budget{max: cfg.MaxRestarts, window: cfg.RestartWindow}})
	}
	return s
}

func (s *supervisor) loop(ctx context.Context, ev events) int {
	backstop := time.NewTicker(reapBackstop)
	defer backstop.Stop()
	// One timer for the whole loop: since Go 1.23, Reset discards a value
	// it did not deliver, so no drain is needed between wakes.
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	done := ctx.Done()
	for {
		s.reap()
		now := time.Now()
		s.advance(now)
		s.publish()
		if s.finished(now) {
			return s.exitCode
		}
		timer.Reset(s.nextWake(now))
		select {
		case <-ev.children:
		case sig := <-ev.signals:
			s.onSignal(sig.(unix.Signal), time.Now())
		case n := <-ev.notes:
			s.onNote(n, time.Now())
		case reply := <-ev.probes:
			close(reply)
		case cause := <-ev.stops:
			s.onStop(cause, time.Now())
		case <-done:
			done = nil
			// The caller's reason, e.g. a health address that stayed in use.
			s.requestStop(s.cfg.StopSignal, context.Cause(ctx).Error(), time.Now())
		case <-backstop.C:
		case <-timer.C:
		}
	}
}

// nextWake is how long until the supervisor has something to do.
func (s *supervisor) nextWake(now time.Time) time.Duration {
	next := now.Add(time.Hour)
	earliest := func(t time.Time) {
		if !t.IsZero() && t.Before(next) {
			next = t
		}
	}
	for _, sl := range s.slots {
		earliest(sl.restartAt)
		earliest(s.watchdogDue(sl))
	}
	earliest(s.recycleDue(now))
	if s.cfg.Follow != nil && s.phase == Running {
		earliest(s.follow.next)
	}
	for _, w := range s.byPID {
		earliest(w.killAt)
		earliest(w.readyBy)
		earliest(w.settleAt)
		earliest(w.openAt)
		if w.sockets != nil && !w.stopping {
			earliest(w.nextLook)
		}
	}
	if len(s.leftovers) > 0 {
		earliest(s.nextScan)
		earliest(s.leftoverKillDue())
	}
	switch s.phase {
	case Running:
		earliest(s.nextSample)
		if (s.shrinking != nil && !s.shrinking.stopped) || s.draining() {
			earliest(now.Add(50 * time.Millisecond)) // watch a leaving queue drain
		}
	case Draining:
		earliest(s.nextSample)
		earliest(s.drainUntil)
	case Stopping:
		earliest(s.killAt)
	case Killing:
		earliest(s.giveUpAt)
		earliest(s.lastKill.Add(time.Second))
	}
	return max(next.Sub(now), 0)
}

// advance does whatever is due at now.
func (s *supervisor) advance(now time.Time) {
	s.killOverdue(now)
	s.openDue(now)
	s.stopLeftovers(now)
	switch s.phase {
	case Running, Draining:
		s.startDue(now)
		s.checkWatchdogs(now)
		s.sampleQueues(now)
		s.lookForAccepting(now)
		s.checkSuccessors(now)
		if s.steered() {
			s.refreshGroups() // steering follows the groups' changes
		}
		// Handovers and a scale-down step first: a predecessor told to
		// stop, or a scale-down that ended, lets the roll go on in this
		// same pass, not at whatever wakes the loop next.
		s.stepHandovers(now)
		s.stepShrink(now)
		s.stepRoll(now)
		s.stepFollow(now)  // after the roll and a scale-down: one that ended lets it go on
		s.stepRecycle(now) // after the roll: one that ended lets it start
		if s.phase == Draining && !now.Before(s.drainUntil) {
			s.enterStopping(now)
		}
	case Stopping:
		if s.live() == 0 && s.hasChildren && !s.nudged {
			s.nudged = true
			s.log.Info("workers stopped; asking their leftover descendants to stop", "signal", SignalName(s.stopSig))
			s.killDescendants(s.stopSig)
		}
		if !now.Before(s.killAt) {
			s.enterKilling(now)
		}
	case Killing:
		if now.Sub(s.lastKill) >= time.Second {
			s.killAll(now)
		}
	}
}

func (s *supervisor) startDue(now time.Time) {
	for _, sl := range s.slots {
		if !sl.restartAt.IsZero() && !now.Before(sl.restartAt) {
			s.start(sl, RestartCrash, now)
		}
	}
}

func (s *supervisor) finished(now time.Time) bool {
	switch s.phase {
	case Stopping:
		return s.live() == 0 && !s.hasChildren
	case Killing:
		if now.After(s.giveUpAt) {
			s.log.Error("processes survived SIGKILL; exiting without them", "waited", killGrace)
			return true
		}
		return s.live() == 0 && !s.hasChildren
	}
	return false
}

func (s *supervisor) live() int {
	return len(s.byPID)
}

func (s *supervisor) onSignal(sig unix.Signal, now time.Time) {
	s.counters.Signals[SignalName(sig)]++
	r := s.cfg.Signals.route(sig)
	switch r.action {
	case reap:
	case restart:
		s.requestRestart("received "+SignalName(sig), now)
	case scaleUp:
		s.scaleUp(now)
	case scaleDown:
		s.scaleDown(now)
	case stop:
		stopSig := s.cfg.StopSignal
		if sig == unix.SIGINT {
			// Ctrl-C reaches the workers as Ctrl-C, as it would without us.
			stopSig = unix.SIGINT
		}
		s.requestStop(stopSig, "received "+SignalName(sig), now)
	case ignore:
		s.log.Debug("signal not forwarded", "signal", SignalName(sig))
	case forward:
		as := sig
		if r.As != 0 {
			as = r.As
		}
		s.log.Debug("forwarding signal", "signal", SignalName(sig), "as", SignalName(as), "workers", s.live())
		for _, w := range s.byPID {
			s.forward(w, as)
		}
	}
}

// requestStop begins a graceful stop; asked again, it cuts the drain short,
// and once workers are stopping it passes the signal on.
func (s *supervisor) requestStop(sig unix.Signal, why string, now time.Time) {
	switch s.phase {
	case Running:
		s.stopSig = sig
		if s.cfg.DrainDelay <= 0 {
			s.log.Info("stopping", "reason", why)
			s.enterStopping(now)
			return
		}
		s.log.Info("draining", "reason", why, "drain_delay", s.cfg.DrainDelay)
		s.phase, s.drainUntil = Draining, now.Add(s.cfg.DrainDelay)
	case Draining:
		s.log.Info("drain cut short", "reason", why)
		s.enterStopping(now)
	default:
		for _, w := range s.byPID {
			s.signal(w, sig)
		}
	}
}

func (s *supervisor) enterStopping(now time.Time) {
	s.phase, s.killAt = Stopping, now.Add(s.cfg.StopTimeout)
	s.roll, s.shrinking = nil, nil
	for _, sl := range s.slots {
		sl.restartAt = time.Time{}
	}
	s.log.Info("stopping workers", "signal", SignalName(s.stopSig), "workers", s.live(), "stop_timeout", s.cfg.StopTimeout)
	// SIGCONT too: a stopped worker (one replaced as stuck, or paused by
	// hand) then stops gracefully instead of waiting for SIGKILL. With the
	// whole pool stopping, nothing else would serve its queue anyway.
	for _, w := range s.byPID {
		if !w.stopping {
			w.stopping = true
			s.signal(w, s.stopSig)
		}
		s.signal(w, unix.SIGCONT)
	}
}

func (s *supervisor) enterKilling(now time.Time) {
	s.phase, s.giveUpAt = Killing, now.Add(killGrace)
	s.log.Warn("stop timeout passed; killing what remains", "workers", s.live(), "stop_timeout", s.cfg.StopTimeout)
	s.killAll(now)
}

func (s *supervisor) killAll(now time.Time) {
	s.lastKill = now
	for _, w := range s.byPID {
		s.signal(w, unix.SIGKILL)
	}
	s.killDescendants(unix.SIGKILL)
}

// onStop stops the pool for Pool.Stop, as the stop signal would; the first
// cause is what Run returns. A nil cause is a plain stop.
func (s *supervisor) onStop(cause error, now time.Time) {
	reason := "asked to stop"
	if cause != nil {
		reason = cause.Error()
		if s.stopCause == nil {
			s.stopCause = cause
		}
	}
	s.requestStop(s.cfg.StopSignal, reason, now)
}
