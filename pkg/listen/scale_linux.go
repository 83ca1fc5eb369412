package listen

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"
)

// Scaling changes the per-worker listeners' SO_REUSEPORT groups: a shard
// that is added joins the end of its group, and one that is closed leaves
// a hole that the group's last socket fills (group_linux.go follows both).

// AddShard binds one more socket for every per-worker listener; it joins
// the end of its group. On error nothing was added.
func (s *Set) AddShard() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var added []*Listener
	for _, l := range s.Listeners {
		if l.Shared {
			continue
		}
		if err := l.bindShard(); err != nil {
			for _, a := range added {
				a.closeShard(len(a.fds) - 1)
			}
			return fmt.Errorf("listener %s: add a shard: %w", l.Name, err)
		}
		added = append(added, l)
	}
	return nil
}

// CloseLastShard closes the highest shard of every per-worker listener
// and reports the connections that were still queued on them: reset, or
// moved to another socket of the group where net.ipv4.tcp_migrate_req
// says so.
func (s *Set) CloseLastShard() (reset, moved int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	queued := 0
	defer func() {
		if MigratesOnClose() {
			moved = queued
		} else {
			reset = queued
		}
	}()
	for _, l := range s.Listeners {
		if l.Shared || len(l.fds) < 2 {
			continue
		}
		last := len(l.fds) - 1
		if q, qerr := l.Queue(last); qerr == nil {
			queued += q.Length
		}
		if cerr := l.closeShard(last); cerr != nil && err == nil {
			err = cerr
		}
	}
	return 0, 0, err
}

// closeShard closes one of l's sockets and follows the group's change: the
// group's last socket takes its place.
func (l *Listener) closeShard(shard int) error {
	l.refresh(false)
	fd, inode := l.fds[shard], inodeOf(l.fds[shard])
	err := unix.Close(fd)
	l.fds = slices.Delete(l.fds, shard, shard+1)
	l.left(shard, inode)
	l.steering = slices.DeleteFunc(l.steering, func(s int) bool { return s == shard })
	for i, s := range l.steering {
		if s > shard {
			l.steering[i] = s - 1
		}
	}
	l.refresh(true)
	if err != nil {
		return fmt.Errorf("listener %s: close shard %d: %w", l.Name, shard, err)
	}
	return nil
}
