package listen

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"
)

// Scaling and rolling change the per-worker listeners' SO_REUSEPORT
// groups: a shard that is added joins the end of its group, and one that
// is closed leaves a hole that the group's last socket fills
// (group_linux.go follows both). Shards are numbered by their place in the
// Set, the same in every per-worker listener; that numbering is the Set's
// own, not the kernel's.

// AddShard binds one more socket for every per-worker listener and says
// its number, the highest; -1 when no listener is per-worker. On error
// nothing was added. A fenced shard gets no new connection until the next
// Steer or Unsteer: a socket is in its group, and may be picked, from its
// listen(), so the fence goes up before it (a roll's successor must not be
// handed a connection it may never accept).
func (s *Set) AddShard(fenced bool) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var added []*Listener
	for _, l := range s.Listeners {
		if l.Shared {
			continue
		}
		if fenced {
			l.fence()
		} else {
			l.dropLoad()
		}
		if err := l.bindShards(1); err != nil {
			for _, a := range added {
				a.closeShard(len(a.fds) - 1)
			}
			l.attach() // the fence down again
			return -1, fmt.Errorf("listener %s: add a shard: %w", l.Name, err)
		}
		added = append(added, l)
	}
	if len(added) == 0 {
		return -1, nil
	}
	return len(added[0].fds) - 1, nil
}

// CloseShard closes shard of every per-worker listener; the shards above
// it move down one number. It reports the connections that were still
// queued on it: reset, or moved to another socket of the group where
// net.ipv4.tcp_migrate_req says so.
func (s *Set) CloseShard(shard int) (reset, moved int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	queued := 0
	for _, l := range s.Listeners {
		if l.Shared || shard >= len(l.fds) || len(l.fds) < 2 {
			continue
		}
		queued += l.queued(shard)
		if cerr := l.closeShard(shard); cerr != nil && err == nil {
			err = cerr
		}
	}
	reset, moved = counted(queued)
	return reset, moved, err
}

// ReplaceShard closes old and gives its number to fresh, a shard that
// took over from it (a rolling restart's successor serves fresh); the
// shards above fresh move down one number.
func (s *Set) ReplaceShard(old, fresh int) (reset, moved int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	queued := 0
	for _, l := range s.Listeners {
		if l.Shared || old >= fresh || fresh >= len(l.fds) {
			continue
		}
		queued += l.queued(old)
		if cerr := l.closeShard(old); cerr != nil && err == nil {
			err = cerr
		}
		l.moveShard(fresh-1, old)
	}
	reset, moved = counted(queued)
	return reset, moved, err
}

func (l *Listener) queued(shard int) int {
	if q, err := l.Queue(shard); err == nil {
		return q.Length
	}
	return 0
}

// counted says what became of connections queued on a socket that closed.
func counted(queued int) (reset, moved int) {
	if MigratesOnClose() {
		return 0, queued
	}
	return queued, 0
}

// closeShard closes one of l's sockets and follows the group's change: the
// group's last socket takes its place.
func (l *Listener) closeShard(shard int) error {
	l.dropLoad()
	l.refresh(false)
	l.fenceClose(shard)
	fd, inode := l.fds[shard], inodeOf(l.fds[shard])
	err := unix.Close(fd)
	l.fds = slices.Delete(l.fds, shard, shard+1)
	l.left(shard, inode)
	l.steering = slices.DeleteFunc(l.steering, func(s int) bool { return s == shard })
	l.renumber(func(s int) int {
		if s > shard {
			return s - 1
		}
		return s
	})
	l.refresh(true)
	if err != nil {
		return fmt.Errorf("listener %s: close shard %d: %w", l.Name, shard, err)
	}
	return nil
}

// moveShard gives shard from the number to (below it); the shards in
// between move up one. Only the Set's numbering changes, not the group.
func (l *Listener) moveShard(from, to int) {
	fd, pos := l.fds[from], l.group.pos[from]
	l.fds = slices.Insert(slices.Delete(l.fds, from, from+1), to, fd)
	l.group.pos = slices.Insert(slices.Delete(l.group.pos, from, from+1), to, pos)
	l.renumber(func(s int) int {
		switch {
		case s == from:
			return to
		case s >= to && s < from:
			return s + 1
		}
		return s
	})
}

func (l *Listener) renumber(f func(int) int) {
	for i, s := range l.steering {
		l.steering[i] = f(s)
	}
}
