package spawn

import (
	"context"
	"log/slog"
	"os"
	"time"

	"golang.org/x/sys/unix"
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
	cfg   Config
	log   *slog.Logger
	slots []*slot
	byPID map[int]*slot

	phase       Phase
	stopSig     unix.Signal
	drainUntil  time.Time // Draining ends
	killAt      time.Time // Stopping ends
	giveUpAt    time.Time // Killing ends
	lastKill    time.Time
	nudged      bool // descendants got the stop signal after the workers left
	hasChildren bool // wait4 last saw children
	exitCode    int
	changed     bool
}

type slot struct {
	index      int
	pid        int
	started    time.Time
	generation int
	restarts   int
	restartAt  time.Time // zero unless a restart is pending
	quick      int       // exits in a row that came before stableAfter
	budget     budget
	lastExit   string
}

func newSupervisor(cfg Config) *supervisor {
	s := &supervisor{cfg: cfg, log: cfg.Logger, byPID: map[int]*slot{}, phase: Running}
	for i := range cfg.Workers {
		s.slots = append(s.slots, &slot{index: i, budget: budget{max: cfg.MaxRestarts, window: cfg.RestartWindow}})
	}
	return s
}

func (s *supervisor) loop(ctx context.Context, signals <-chan os.Signal) int {
	backstop := time.NewTicker(reapBackstop)
	defer backstop.Stop()
	done := ctx.Done()
	for {
		s.reap()
		now := time.Now()
		s.advance(now)
		s.publish()
		if s.finished(now) {
			return s.exitCode
		}
		timer := s.timer(now)
		select {
		case sig := <-signals:
			s.onSignal(sig.(unix.Signal), time.Now())
		case <-done:
			done = nil
			s.requestStop(s.cfg.StopSignal, "context canceled", time.Now())
		case <-backstop.C:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// timer fires at the next moment the supervisor has something to do.
func (s *supervisor) timer(now time.Time) *time.Timer {
	next := time.Time{}
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, sl := range s.slots {
		earliest(sl.restartAt)
	}
	switch s.phase {
	case Draining:
		earliest(s.drainUntil)
	case Stopping:
		earliest(s.killAt)
	case Killing:
		earliest(s.giveUpAt)
		earliest(s.lastKill.Add(time.Second))
	}
	if next.IsZero() {
		return time.NewTimer(time.Hour)
	}
	return time.NewTimer(max(next.Sub(now), 0))
}

// advance does whatever is due at now.
func (s *supervisor) advance(now time.Time) {
	if s.phase == Running || s.phase == Draining {
		for _, sl := range s.slots {
			if !sl.restartAt.IsZero() && !now.Before(sl.restartAt) {
				s.start(sl, now)
			}
		}
	}
	switch s.phase {
	case Draining:
		if !now.Before(s.drainUntil) {
			s.enterStopping(now)
		}
	case Stopping:
		if s.live() == 0 && s.hasChildren && !s.nudged {
			s.nudged = true
			s.log.Info("workers stopped; asking their leftover descendants to stop", "signal", SignalName(s.stopSig))
			killDescendants(s.stopSig)
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
	switch route(sig) {
	case reap:
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
		s.log.Debug("forwarding signal", "signal", SignalName(sig), "workers", s.live())
		s.signalWorkers(sig)
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
		s.phase, s.drainUntil, s.changed = Draining, now.Add(s.cfg.DrainDelay), true
	case Draining:
		s.log.Info("drain cut short", "reason", why)
		s.enterStopping(now)
	default:
		s.signalWorkers(sig)
	}
}

func (s *supervisor) enterStopping(now time.Time) {
	s.phase, s.killAt, s.changed = Stopping, now.Add(s.cfg.StopTimeout), true
	for _, sl := range s.slots {
		sl.restartAt = time.Time{}
	}
	s.log.Info("stopping workers", "signal", SignalName(s.stopSig), "workers", s.live(), "stop_timeout", s.cfg.StopTimeout)
	s.signalWorkers(s.stopSig)
}

func (s *supervisor) enterKilling(now time.Time) {
	s.phase, s.giveUpAt, s.changed = Killing, now.Add(killGrace), true
	s.log.Warn("stop timeout passed; killing what remains", "workers", s.live(), "stop_timeout", s.cfg.StopTimeout)
	s.killAll(now)
}

func (s *supervisor) killAll(now time.Time) {
	s.lastKill = now
	s.signalWorkers(unix.SIGKILL)
	killDescendants(unix.SIGKILL)
}

func (s *supervisor) publish() {
	if !s.changed || s.cfg.OnChange == nil {
		s.changed = false
		return
	}
	s.changed = false
	st := Status{Phase: s.phase, Slots: make([]SlotStatus, len(s.slots))}
	for i, sl := range s.slots {
		st.Slots[i] = SlotStatus{Slot: sl.index, PID: sl.pid, Generation: sl.generation,
			Restarts: sl.restarts, Started: sl.started, LastExit: sl.lastExit}
	}
	s.cfg.OnChange(st)
}
