package spawn

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// selfExe is how the supervisor re-executes itself as the exec stage. It
// stays valid even after shardinit's binary was replaced on disk.
const selfExe = "/proc/self/exe"

// start launches the exec stage for sl; it becomes the worker.
func (s *supervisor) start(sl *slot, now time.Time) {
	sl.restartAt = time.Time{}
	fds := s.cfg.Sockets(sl.index)
	files := []uintptr{0, 1, 2}
	for _, fd := range fds {
		files = append(files, uintptr(fd))
	}
	argv := append([]string{execStageArg0, s.cfg.Path}, s.cfg.Command...)
	env := workerEnv(s.cfg.Env, sl.index, len(s.slots), s.socketNames(len(fds)), s.cfg.GOMAXPROCS)
	pid, err := syscall.ForkExec(selfExe, argv, &syscall.ProcAttr{
		Env:   env,
		Files: files,
		// Each worker leads its own process group, so that a forwarded
		// signal reaches the children it started too; Pdeathsig ends it if
		// shardinit dies without stopping it.
		Sys: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		s.log.Error("start worker", "slot", sl.index, "err", fmt.Errorf("fork/exec %s: %w", selfExe, err))
		s.afterExit(sl, 1, "not started: "+err.Error(), now)
		return
	}
	sl.pid, sl.started = pid, now
	sl.generation++
	s.byPID[pid] = sl
	s.changed = true
	s.log.Info("worker started", "slot", sl.index, "pid", pid, "generation", sl.generation)
}

// socketNames labels n sockets; systemd's name for an unnamed one is
// "unknown".
func (s *supervisor) socketNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = "unknown"
		if i < len(s.cfg.SocketNames) {
			names[i] = s.cfg.SocketNames[i]
		}
	}
	return names
}

// onExit handles the end of the worker in sl.
func (s *supervisor) onExit(sl *slot, ws unix.WaitStatus, now time.Time) {
	pid, ran := sl.pid, now.Sub(sl.started)
	delete(s.byPID, pid)
	sl.pid = 0
	code, how := exitCode(ws), describe(ws)
	if s.phase == Stopping || s.phase == Killing {
		sl.lastExit = how
		s.changed = true
		s.noteExit(code)
		s.log.Info("worker stopped", "slot", sl.index, "pid", pid, "status", how)
		return
	}
	s.log.Warn("worker exited", "slot", sl.index, "pid", pid, "status", how, "ran", ran.Round(time.Millisecond))
	if ran >= stableAfter {
		sl.quick = 0
	}
	s.afterExit(sl, code, how, now)
}

// afterExit decides between a restart (now, or after a backoff) and the end
// of the pool.
func (s *supervisor) afterExit(sl *slot, code int, how string, now time.Time) {
	sl.lastExit = how
	s.changed = true
	if s.phase != Running && s.phase != Draining {
		return
	}
	if !s.cfg.Restart.restarts(code) {
		s.noteExit(code)
		s.requestStop(s.cfg.StopSignal, fmt.Sprintf("slot %d ended (%s) and --restart is %s", sl.index, how, s.cfg.Restart), now)
		return
	}
	if !sl.budget.spend(now) {
		s.noteExit(max(code, 1))
		s.log.Error("crash loop: giving up", "slot", sl.index, "restarts", s.cfg.MaxRestarts, "window", s.cfg.RestartWindow)
		s.requestStop(s.cfg.StopSignal, fmt.Sprintf("slot %d restarted %d times within %s", sl.index, s.cfg.MaxRestarts, s.cfg.RestartWindow), now)
		return
	}
	sl.quick++
	sl.restarts++
	delay := backoff(sl.quick)
	sl.restartAt = now.Add(delay)
	if delay > 0 {
		s.log.Info("restart backs off", "slot", sl.index, "delay", delay.Round(time.Millisecond), "quick_exits", sl.quick)
	}
}

// noteExit keeps the first non-zero code: it becomes shardinit's own.
func (s *supervisor) noteExit(code int) {
	if s.exitCode == 0 {
		s.exitCode = code
	}
}

// signalWorkers sends sig to every worker's process group. A worker that
// left its group (setsid) is signalled alone.
func (s *supervisor) signalWorkers(sig unix.Signal) {
	for pid, sl := range s.byPID {
		err := unix.Kill(-pid, sig)
		if errors.Is(err, unix.ESRCH) {
			err = unix.Kill(pid, sig)
		}
		switch {
		case errors.Is(err, unix.ESRCH):
			s.log.Debug("worker already gone", "slot", sl.index, "pid", pid, "signal", SignalName(sig))
		case err != nil:
			s.log.Warn("signal worker", "slot", sl.index, "pid", pid, "signal", SignalName(sig), "err", err)
		}
	}
}
