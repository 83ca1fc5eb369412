package spawn

import (
	"fmt"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// onExit handles the end of worker w.
func (s *supervisor) onExit(w *worker, ws unix.WaitStatus, now time.Time) {
	delete(s.byPID, w.pid)
	delete(s.bySocket, w.sock)
	w.sock.close()
	s.collectLeftovers(w, now)
	s.reclaimTerminal()
	sl, code, how := w.slot, s.effectiveCode(ws), describe(ws)
	wlog := s.log.With(exitAttrs(w, ws)...)
	s.counters.Exits[exitReason(w, ws, code)]++
	if s.terminal && ws.Signaled() && ws.Signal() == unix.SIGINT && s.phase == Running {
		// Ctrl-C on the terminal reached the workers, not shardinit.
		s.noteExit(code)
		s.requestStop(unix.SIGINT, "a worker got Ctrl-C from the terminal", now)
	}
	switch {
	case w == sl.successor:
		sl.successor = nil
		if sl.handover != nil {
			s.dropFresh(sl)
		}
		if s.phase == Running || s.phase == Draining {
			s.abortRoll(sl, "successor exited before it was ready: "+how)
		}
		return
	case w != sl.current:
		wlog.Info("replaced worker exited")
		if h := sl.handover; h != nil && h.failed == w {
			s.dropFresh(sl) // the abandoned successor's shard
		}
		return
	case sl.successor != nil && (s.phase == Running || s.phase == Draining):
		wlog.Warn("worker exited during its roll; its successor takes over")
		sl.current = nil
		s.promote(sl, now)
		return
	}
	sl.current = nil
	if sl.leaving {
		wlog.Info("worker of the leaving slot stopped")
		return
	}
	if s.phase == Stopping || s.phase == Killing {
		sl.lastExit = how
		s.noteExit(code)
		wlog.Info("worker stopped")
		return
	}
	ran := now.Sub(w.started)
	wlog.Warn("worker exited", "ran", ran.Round(time.Millisecond))
	if ran >= stableAfter {
		sl.quick = 0
	}
	s.afterExit(sl, code, how, now)
}

// effectiveCode is the exit code in the shell's terms, with the codes of
// --success-exit-codes read as 0.
func (s *supervisor) effectiveCode(ws unix.WaitStatus) int {
	code := exitCode(ws)
	if slices.Contains(s.cfg.SuccessCodes, code) {
		return 0
	}
	return code
}

// exitReason labels an exit for the metrics.
func exitReason(w *worker, ws unix.WaitStatus, code int) string {
	switch {
	case w.stopping:
		return "stopped"
	case code == 0:
		return "clean"
	case ws.Signaled():
		return "signal"
	}
	return "error"
}

// afterExit decides between a restart (now, or after a backoff) and the end
// of the pool.
func (s *supervisor) afterExit(sl *slot, code int, how string, now time.Time) {
	sl.lastExit = how
	if s.phase != Running && s.phase != Draining {
		return
	}
	if !s.cfg.Restart.restarts(code) {
		s.noteExit(code)
		s.requestStop(s.cfg.StopSignal, fmt.Sprintf("slot %d ended (%s) and --restart is %s", sl.index, how, s.cfg.Restart), now)
		return
	}
	if !sl.budget.spend(now) {
		s.giveUp(sl, code, now)
		return
	}
	sl.quick++
	delay := backoff(sl.quick, s.cfg.MaxBackoff)
	sl.restartAt = now.Add(delay)
	if delay > 0 {
		s.log.Info("restart backs off", "slot", sl.index, "delay", delay.Round(time.Millisecond), "quick_exits", sl.quick)
	}
}

// giveUp ends the pool once a slot has spent its restart budget.
func (s *supervisor) giveUp(sl *slot, code int, now time.Time) {
	s.noteExit(max(code, 1))
	s.log.Error("crash loop: giving up", "slot", sl.index, "restarts", s.cfg.MaxRestarts, "window", s.cfg.RestartWindow)
	s.requestStop(s.cfg.StopSignal, fmt.Sprintf("slot %d restarted %d times within %s", sl.index, s.cfg.MaxRestarts, s.cfg.RestartWindow), now)
}

// noteExit keeps the first non-zero code: it becomes shardinit's own.
func (s *supervisor) noteExit(code int) {
	if s.exitCode == 0 {
		s.exitCode = code
	}
}
