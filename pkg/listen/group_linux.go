package listen

import (
	"slices"

	"golang.org/x/sys/unix"
)

// A per-worker listener's sockets are one SO_REUSEPORT group, and the
// kernel keeps a group as an array: a socket that joins goes to the end,
// one that leaves is replaced by the last (net/core/sock_reuseport.c). A
// steering program names sockets by their index in that array, so the
// listener tracks where each of its sockets sits: through its own binds
// and closes, and through what sock_diag shows of the other processes'
// sockets in the group (another pod's, on a shared host port). Their
// joins only append; a leave can move one of ours, so then the order is
// learned again by probing (probe_linux.go).

// members lists the other sockets now in l's group, and whether each of
// ours is there.
func (l *Listener) members() (others map[uint32]bool, missing int, err error) {
	family := unix.AF_INET6
	if l.target.addr.Addr().Is4() {
		family = unix.AF_INET
	}
	all, err := listeners(family)
	if err != nil {
		return nil, 0, err
	}
	dev := uint32(0)
	if len(l.fds) > 0 {
		if i, err := unix.GetsockoptInt(l.fds[0], unix.SOL_SOCKET, unix.SO_BINDTOIFINDEX); err == nil {
			dev = uint32(i)
		}
	}
	var ours []uint32
	for _, fd := range l.fds {
		ours = append(ours, inodeOf(fd))
	}
	others, missing = map[uint32]bool{}, len(ours)
	for _, m := range all {
		switch {
		case m.addr.Port() != l.target.addr.Port() || m.addr.Addr() != l.target.addr.Addr() || m.dev != dev:
		case slices.Contains(ours, m.inode):
			missing--
		default:
			others[m.inode] = true
		}
	}
	return others, missing, nil
}

func inodeOf(fd int) uint32 {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return 0
	}
	return uint32(st.Ino)
}

// refresh brings l's picture of its group up to date and, where a socket
// of another process left (which may have moved ours), probes the order.
// ambiguous says that l itself just bound or closed a socket, so a join
// seen now may have come before its own change. What changed beyond l's
// own binds and closes is kept for the log (Refresh).
func (l *Listener) refresh(ambiguous bool) groupChange {
	g := &l.group
	wasKnown := g.known
	ch := l.follow(ambiguous)
	ch.known, ch.size, ch.why, ch.order = g.known, l.groupSize(), g.why, slices.Clone(g.pos)
	if ch.joined+ch.left > 0 || ch.probed || ch.known != wasKnown {
		g.notes = append(g.notes, ch.String())
	}
	return ch
}

// follow compares the group's members with the last look: joins append,
// so they move none of ours; anything else is probed.
func (l *Listener) follow(ambiguous bool) groupChange {
	g := &l.group
	ch := groupChange{listener: l.Name}
	others, missing, err := l.members()
	if err != nil {
		g.known, g.why = false, err.Error()
		return ch
	}
	for ino := range others {
		switch {
		case g.closed[ino]:
			ambiguous = true // closed by us, held open by another process
		case !g.others[ino]:
			ch.joined++
		}
	}
	for ino := range g.others {
		if !others[ino] {
			ch.left++
		}
	}
	for ino := range g.closed {
		if !others[ino] {
			delete(g.closed, ino)
		}
	}
	g.others = others
	switch {
	case !g.known || ch.left > 0 || (ambiguous && ch.joined > 0) || missing > 0:
		ch.probed = true
		l.probe()
	case ch.joined > 0 && l.steering != nil:
		l.attach() // the spread takes in the new sockets
	}
	return ch
}

// groupSize is how many sockets the group holds, the others' and ours.
func (l *Listener) groupSize() int { return len(l.group.others) + len(l.fds) }

// joined records a socket that l just bound: it went to the end.
func (l *Listener) joined() {
	l.group.pos = append(l.group.pos, l.groupSize()-1)
}

// left records that l closed its shard: the last socket of the group took
// its place.
func (l *Listener) left(shard int, inode uint32) {
	g := &l.group
	hole, last := g.pos[shard], l.groupSize() // fds has lost it already
	for i, p := range g.pos {
		if p == last {
			g.pos[i] = hole
		}
	}
	g.pos = slices.Delete(g.pos, shard, shard+1)
	if g.closed == nil {
		g.closed = map[uint32]bool{}
	}
	g.closed[inode] = true
}

// Refresh brings every per-worker listener's picture of its group up to
// date (re-steering where it steers and the group changed). It reports
// what each listener learned since it last reported that is worth a line
// in the log: another process's sockets came or went, the order was
// probed, or it became unknown.
func (s *Set) Refresh() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.Listeners {
		if l.Shared || len(l.fds) == 0 {
			continue
		}
		l.refresh(false)
		out = append(out, l.group.notes...)
		l.group.notes = nil
	}
	return out
}
