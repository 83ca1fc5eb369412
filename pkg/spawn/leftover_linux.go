package spawn

import (
	"slices"
	"time"

	"github.com/shardinit/shardinit/internal/procstat"
	"golang.org/x/sys/unix"
)

// A worker that exits can leave processes behind: a child that kept the
// shard socket and goes on calling accept() takes connections nobody
// answers. Each worker leads a session of its own, which its descendants
// cannot leave for another worker's (only for one of their own, with
// setsid), so whatever remains in the session of an exited worker is its
// leftovers. They get the stop signal at once and SIGKILL after
// --stop-timeout, as systemd's KillMode=control-group does. A session ID is
// not reused while a process is still in the session.

// scanEvery paces the look for leftovers in /proc while some remain (their
// deaths wake the loop too: they are reparented to shardinit).
const scanEvery = 100 * time.Millisecond

// leftover is what remains of one exited worker.
type leftover struct {
	session int // the worker's PID
	slot    *slot
	killAt  time.Time
	killed  bool
	pids    []int // as last seen
}

// collectLeftovers looks for what w left behind as it exited.
func (s *supervisor) collectLeftovers(w *worker, now time.Time) {
	if s.terminal {
		return // the workers share shardinit's session: see terminal_linux.go
	}
	pids := sessionMembers(map[int]bool{w.pid: true})[w.pid]
	if len(pids) == 0 {
		return
	}
	s.log.Warn("exited worker left processes behind; stopping them", "slot", w.slot.index, "pid", w.pid,
		"leftovers", pids, "signal", SignalName(s.cfg.StopSignal), "stop_timeout", s.cfg.StopTimeout)
	for _, pid := range pids {
		s.os.kill(pid, s.cfg.StopSignal)
		s.os.kill(pid, unix.SIGCONT)
	}
	s.leftovers = append(s.leftovers, &leftover{session: w.pid, slot: w.slot, killAt: now.Add(s.cfg.StopTimeout), pids: pids})
	s.nextScan = now.Add(scanEvery)
}

// stopLeftovers forgets leftovers that are gone and kills those whose stop
// timeout has passed, with one look at /proc for all of them.
func (s *supervisor) stopLeftovers(now time.Time) {
	if len(s.leftovers) == 0 || (now.Before(s.nextScan) && now.Before(s.leftoverKillDue())) {
		return
	}
	s.nextScan = now.Add(scanEvery)
	sessions := map[int]bool{}
	for _, lo := range s.leftovers {
		sessions[lo.session] = true
	}
	members := sessionMembers(sessions)
	s.leftovers = slices.DeleteFunc(s.leftovers, func(lo *leftover) bool {
		pids := members[lo.session]
		if !slices.Equal(pids, lo.pids) {
			lo.pids = pids
		}
		if len(pids) > 0 && !lo.killed && !now.Before(lo.killAt) {
			s.log.Warn("leftovers of an exited worker did not stop in time; killing them", "slot", lo.slot.index,
				"session", lo.session, "leftovers", pids)
			lo.killed = true
			for _, pid := range pids {
				s.os.kill(pid, unix.SIGKILL)
			}
		}
		return len(pids) == 0
	})
}

// leftoverKillDue is the earliest SIGKILL still to send to leftovers; far
// off if none.
func (s *supervisor) leftoverKillDue() time.Time {
	due := time.Now().Add(time.Hour)
	for _, lo := range s.leftovers {
		if !lo.killed && lo.killAt.Before(due) {
			due = lo.killAt
		}
	}
	return due
}

// leftoversOf lists the leftover PIDs of sl.
func (s *supervisor) leftoversOf(sl *slot) []int {
	var pids []int
	for _, lo := range s.leftovers {
		if lo.slot == sl {
			pids = append(pids, lo.pids...)
		}
	}
	slices.Sort(pids)
	return pids
}

// sessionMembers maps each session of sids to its live processes.
func sessionMembers(sids map[int]bool) map[int][]int {
	members := map[int][]int{}
	procstat.Each(func(pid int, st procstat.Stat) {
		if sid, err := st.Session(); err == nil && sids[sid] && st.State() != "Z" {
			members[sid] = append(members[sid], pid)
		}
	})
	return members
}
