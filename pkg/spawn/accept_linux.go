package spawn

import (
	"errors"
	"time"

	"github.com/shardinit/shardinit/internal/accepting"
	"github.com/shardinit/shardinit/internal/procstat"
)

// With --ready-on accept a worker is ready once shardinit sees it wait for
// connections on its shard's sockets: a process of the worker's (its
// session, or its descendants) has one in an epoll set, or is blocked in
// accept, poll or select on one. That needs nothing of the server, and is
// not fooled by one that says READY=1, or is merely running, before it
// accepts. What /proc cannot show (io_uring, a process that left the
// session and was reparented) is never seen: such a worker is not ready
// until --ready-on start or notify says otherwise.

// lookEvery is how often a worker not yet seen is looked at: often at
// first, less so the longer it takes (a server that never accepts costs a
// /proc walk every half second, not every few milliseconds).
func lookEvery(age time.Duration) time.Duration {
	return min(max(age/20, 20*time.Millisecond), 500*time.Millisecond)
}

// lookFor makes a worker that was just spawned on shard wait to be seen
// accepting there; without sockets to watch it counts as ready once
// started (settles).
func (s *supervisor) lookFor(w *worker, shard int, now time.Time) {
	if s.cfg.ReadyOn != ReadyOnAccept {
		return
	}
	socks, err := accepting.Inodes(s.cfg.Sockets.FDs(shard))
	if err != nil {
		s.log.Warn("cannot watch the worker's sockets; it counts as ready once started", "slot", w.slot.index, "pid", w.pid, "err", err)
		return
	}
	w.sockets, w.nextLook = socks, now
}

// settles says whether a worker that was just spawned counts as ready a
// while after its start (--ready-on start, or accept without sockets to
// watch).
func (s *supervisor) settles(w *worker) bool {
	return s.cfg.ReadyOn == ReadyOnStart || (s.cfg.ReadyOn == ReadyOnAccept && w.sockets == nil)
}

// notLooking falls back to --ready-on start for w.
func (s *supervisor) notLooking(w *worker, now time.Time) {
	w.sockets, w.nextLook = nil, time.Time{}
	if w == w.slot.successor {
		w.settleAt = now.Add(startSettle)
		return
	}
	w.openAt = now.Add(startSettle)
	s.markReady(w, now)
}

// lookForAccepting looks at the workers that are due: each one itself
// first, as most servers accept in the process shardinit started, then
// its family, with at most one walk of /proc for all of them.
func (s *supervisor) lookForAccepting(now time.Time) {
	var family *families
	for _, w := range s.byPID {
		if w.sockets == nil || w.stopping || now.Before(w.nextLook) {
			continue
		}
		seen, ok, err := accepting.Seek([]int{w.pid}, w.sockets)
		if !ok && err == nil {
			if family == nil {
				f := processFamilies()
				family = &f
			}
			seen, ok, err = accepting.Seek(family.of(w.pid, !s.terminal)[1:], w.sockets)
		}
		switch {
		case ok:
			s.log.Info("worker accepting", "slot", w.slot.index, "pid", w.pid, "seen_pid", seen.PID, "by", seen.How)
			w.sockets, w.nextLook = nil, time.Time{}
			s.markReady(w, now)
		case errors.Is(err, accepting.ErrHidden):
			s.log.Warn("cannot see whether the worker accepts; it counts as ready once started (give shardinit CAP_SYS_PTRACE, or run the workers as its own user)",
				"slot", w.slot.index, "pid", w.pid, "err", err)
			s.notLooking(w, now)
		default:
			s.warnUnseen(w, now)
			w.nextLook = now.Add(lookEvery(now.Sub(w.started)))
		}
	}
}

// warnUnseen says once, after --ready-timeout, that a current worker was
// never seen accepting (a successor's roll is aborted instead).
func (s *supervisor) warnUnseen(w *worker, now time.Time) {
	if w.warnedUnseen || w == w.slot.successor || now.Sub(w.started) < s.cfg.ReadyTimeout {
		return
	}
	w.warnedUnseen = true
	s.log.Warn("worker not seen accepting on its sockets; it is not ready (a server that accepts through io_uring needs --ready-on start or notify)",
		"slot", w.slot.index, "pid", w.pid, "after", s.cfg.ReadyTimeout)
}

// families are the processes of shardinit's PID namespace by session and
// by parent.
type families struct {
	bySession, byParent map[int][]int
}

func processFamilies() families {
	f := families{bySession: map[int][]int{}, byParent: map[int][]int{}}
	procstat.Each(func(pid int, st procstat.Stat) {
		if sid, err := st.Session(); err == nil && sid != pid {
			f.bySession[sid] = append(f.bySession[sid], pid)
		}
		if ppid, err := st.PPID(); err == nil {
			f.byParent[ppid] = append(f.byParent[ppid], pid)
		}
	})
	return f
}

// of lists a worker's processes, the worker first: its descendants, and
// (when it leads a session of its own) the members of that session, which
// keep a daemonised child whose parent has gone.
func (f families) of(pid int, session bool) []int {
	out, seen := []int{pid}, map[int]bool{pid: true}
	for i := 0; i < len(out); i++ {
		for _, child := range f.byParent[out[i]] {
			if !seen[child] {
				out, seen[child] = append(out, child), true
			}
		}
	}
	if session {
		for _, member := range f.bySession[pid] {
			if !seen[member] {
				out, seen[member] = append(out, member), true
			}
		}
	}
	return out
}
