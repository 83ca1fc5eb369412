package spawn

import (
	"os"
	"slices"
	"strconv"
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
	pids := sessionMembers(w.pid)
	if len(pids) == 0 {
		return
	}
	s.log.Warn("exited worker left processes behind; stopping them", "slot", w.slot.index, "pid", w.pid,
		"leftovers", pids, "signal", SignalName(s.cfg.StopSignal), "stop_timeout", s.cfg.StopTimeout)
	lo := &leftover{session: w.pid, slot: w.slot, killAt: now.Add(s.cfg.StopTimeout), pids: pids}
	for _, pid := range pids {
		unix.Kill(pid, s.cfg.StopSignal)
		unix.Kill(pid, unix.SIGCONT)
	}
	s.leftovers = append(s.leftovers, lo)
	s.nextScan, s.changed = now.Add(scanEvery), true
}

// stopLeftovers forgets leftovers that are gone and kills those whose stop
// timeout has passed.
func (s *supervisor) stopLeftovers(now time.Time) {
	if len(s.leftovers) == 0 || now.Before(s.nextScan) {
		return
	}
	s.nextScan = now.Add(scanEvery)
	s.leftovers = slices.DeleteFunc(s.leftovers, func(lo *leftover) bool {
		pids := sessionMembers(lo.session)
		if !slices.Equal(pids, lo.pids) {
			lo.pids, s.changed = pids, true
		}
		if len(pids) > 0 && !lo.killed && !now.Before(lo.killAt) {
			s.log.Warn("leftovers of an exited worker did not stop in time; killing them", "slot", lo.slot.index,
				"session", lo.session, "leftovers", pids)
			lo.killed = true
			for _, pid := range pids {
				unix.Kill(pid, unix.SIGKILL)
			}
		}
		return len(pids) == 0
	})
	if len(s.leftovers) > 0 && s.nextScan.After(s.leftovers[0].killAt) && !s.leftovers[0].killed {
		s.nextScan = s.leftovers[0].killAt
	}
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

// sessionMembers lists the live processes of session sid, or none when
// /proc is not of shardinit's PID namespace (its PIDs would be strangers').
func sessionMembers(sid int) []int {
	if link, err := os.Readlink("/proc/self"); err != nil || link != strconv.Itoa(os.Getpid()) {
		return nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := procstat.Read(pid)
		if err != nil || st.State() == "Z" {
			continue
		}
		if f, _ := st.Field(6); f == strconv.Itoa(sid) {
			pids = append(pids, pid)
		}
	}
	return pids
}
