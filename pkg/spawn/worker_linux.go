package spawn

import (
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// selfExe is how the supervisor re-executes itself as the exec stage. It
// stays valid even after shardinit's binary was replaced on disk.
const selfExe = "/proc/self/exe"

// start launches a new worker for sl; it becomes the slot's current one.
// why is the restart reason when it replaces an earlier worker.
func (s *supervisor) start(sl *slot, why string, now time.Time) {
	sl.restartAt, sl.backlog = time.Time{}, backlog{}
	w, err := s.spawn(sl, s.servingShard(sl), why, now)
	if err != nil {
		s.log.Error("start worker", "slot", sl.index, "err", err)
		s.afterExit(sl, 1, "not started: "+err.Error(), now)
		return
	}
	s.makeCurrent(sl, w, now)
}

// makeCurrent makes a worker that was just spawned sl's current one.
func (s *supervisor) makeCurrent(sl *slot, w *worker, now time.Time) {
	sl.current = w
	if s.settles(w) {
		w.openAt = now.Add(startSettle)
		s.markReady(w, now)
	}
}

// spawn forks the exec stage, which becomes a worker of sl on shard, and
// registers it; where it goes in the slot is the caller's business. A
// slot's later workers count as restarts, by why.
func (s *supervisor) spawn(sl *slot, shard int, why string, now time.Time) (*worker, error) {
	fds := s.cfg.Sockets.FDs(shard)
	files := []uintptr{0, 1, 2}
	for _, fd := range fds {
		files = append(files, uintptr(fd))
	}
	if s.preloadFD >= 0 {
		files = append(files, uintptr(s.preloadFD)) // right after the sockets
	}
	argv := append([]string{execStageArg0, s.cfg.Path}, s.cfg.Command...)
	sock, err := s.notifier.open()
	if err != nil {
		return nil, err
	}
	// Each worker leads its own process group (in a session of its own,
	// off a terminal), so that a signal reaches the children it started
	// too; Pdeathsig ends it if shardinit dies without stopping it.
	pid, err := s.os.forkExec(selfExe, argv, &syscall.ProcAttr{
		Env: s.workerEnv(sl.index, len(fds), sock.addr), Files: files, Sys: s.procAttr(),
	})
	if err != nil {
		sock.close()
		return nil, fmt.Errorf("fork/exec %s: %w", selfExe, err)
	}
	if s.terminal && s.fgGroup == 0 {
		s.fgGroup = pid
	}
	sl.generation++
	w := &worker{pid: pid, slot: sl, generation: sl.generation, started: now, sock: sock, recycleAt: s.lifetimeOver(now),
		gomaxprocs: s.givenGOMAXPROCS()}
	s.byPID[pid], s.bySocket[sock] = w, w
	s.counters.Starts++
	if sl.generation > 1 {
		s.counters.Restarts[why]++
	}
	s.log.Info("worker started", "slot", sl.index, "pid", pid, "generation", sl.generation)
	s.lookFor(w, shard, now)
	return w, nil
}

func (s *supervisor) workerEnv(slot, sockets int, notify string) []string {
	env := workerEnv(s.cfg.Env, slot, len(s.slots), s.socketNames(sockets), s.follow.gomaxprocs)
	env = append(env, "NOTIFY_SOCKET="+notify)
	if s.preloadFD >= 0 {
		env = withPreload(env, "/proc/self/fd/"+strconv.Itoa(firstFD+sockets))
	}
	if s.cfg.Watchdog > 0 {
		env = append(env, "WATCHDOG_USEC="+strconv.FormatInt(s.cfg.Watchdog.Microseconds(), 10))
	}
	return env
}

// socketNames labels n sockets; systemd's name for an unnamed one is
// "unknown".
func (s *supervisor) socketNames(n int) []string {
	given := s.cfg.Sockets.Names()
	names := make([]string, n)
	for i := range names {
		names[i] = "unknown"
		if i < len(given) {
			names[i] = given[i]
		}
	}
	return names
}

// replace starts a successor for sl's current worker on the same sockets,
// then asks the predecessor to stop: whatever waits in the slot's queue is
// taken by the successor.
func (s *supervisor) replace(sl *slot, reason, why string, now time.Time) {
	old := sl.current
	s.log.Warn("replacing worker", "slot", sl.index, "pid", old.pid, "reason", why)
	if sl.successor != nil {
		// A roll already started one: it takes over now, ready or not,
		// and the replaced worker is not left to drain.
		s.promote(sl, now)
		if h := sl.handover; h != nil && h.old == old && !h.stopped {
			h.stopped = true
			s.retire(old, now)
		}
		return
	}
	s.start(sl, reason, now)
	s.retire(old, now)
}

// retire asks a replaced worker to stop and schedules its SIGKILL. SIGCONT
// follows the stop signal: a worker that was stopped (SIGSTOP) then
// finishes the requests it had accepted instead of losing them at the
// SIGKILL. A worker that shares its queue with its successor (a stuck
// one, or a roll that could not steer) may take a few more connections
// from it until its listener closes; a worker that drains properly
// (worker.ServeHTTP) answers those too, while one that calls Go's
// http.Server.Shutdown alone may drop them.
func (s *supervisor) retire(w *worker, now time.Time) {
	w.stopping, w.killAt = true, now.Add(s.cfg.StopTimeout)
	s.signal(w, s.cfg.StopSignal)
	s.signal(w, unix.SIGCONT)
}

// killOverdue kills replaced workers whose stop timeout has passed.
func (s *supervisor) killOverdue(now time.Time) {
	for _, w := range s.byPID {
		if !w.killAt.IsZero() && !now.Before(w.killAt) {
			s.log.Warn("replaced worker did not stop in time; killing it", "slot", w.slot.index, "pid", w.pid)
			w.killAt = time.Time{}
			s.signal(w, unix.SIGKILL)
		}
	}
}

// signal sends sig to a worker's process group, which as a session
// leader it cannot leave. On a terminal the workers share one group, and
// each is signalled alone.
func (s *supervisor) signal(w *worker, sig unix.Signal) {
	target := -w.pid
	if s.terminal {
		target = w.pid
	}
	err := s.os.kill(target, sig)
	switch {
	case errors.Is(err, unix.ESRCH):
		s.log.Debug("worker already gone", "slot", w.slot.index, "pid", w.pid, "signal", SignalName(sig))
	case err != nil:
		s.log.Warn("signal worker", "slot", w.slot.index, "pid", w.pid, "signal", SignalName(sig), "err", err)
	}
}
