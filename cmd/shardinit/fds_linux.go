package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// closeInheritedOnExec marks close-on-exec every descriptor above stderr
// that shardinit was started with open across exec, and returns them.
// Whatever started shardinit may leave such fds (a pipe, a log file, a
// socket of its own), and every worker would otherwise get them all and
// hold them as long as it runs: a pipe whose reader never sees EOF, a file
// that cannot go away. shardinit hands nothing inherited on: it binds its
// listeners itself and gives each worker fds 3.. afresh (and a LISTEN_FDS
// that reached shardinit is dropped, see spawn's ownedVars). The Go
// runtime opens every fd of its own with O_CLOEXEC, so those are left as
// they are, and the ones marked stay open in shardinit itself.
func closeInheritedOnExec() ([]int, error) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, fmt.Errorf("list inherited fds: %w", err)
	}
	var marked []int
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= 2 {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC != 0 {
			continue // gone since (the listing's own fd), or one of Go's
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags|unix.FD_CLOEXEC); err != nil {
			return marked, fmt.Errorf("fcntl %d F_SETFD FD_CLOEXEC: %w", fd, err)
		}
		marked = append(marked, fd)
	}
	slices.Sort(marked) // the listing is in name order: 10 before 7
	return marked, nil
}
