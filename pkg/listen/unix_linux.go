package listen

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// bindUnix binds one socket for every worker: the kernel does not spread
// AF_UNIX connections over a reuseport group.
func bindUnix(spec Spec, opts Options) (*Listener, error) {
	path := spec.Address
	abstract := strings.HasPrefix(path, "@")
	if !abstract {
		if err := removeStale(path); err != nil {
			return nil, err
		}
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket for unix://%s: %w", path, err)
	}
	// x/sys turns a leading '@' into the abstract namespace's NUL byte.
	if err := bindAndListen(fd, &unix.SockaddrUnix{Name: path}, "unix://"+path, opts.Backlog); err != nil {
		unix.Close(fd)
		return nil, err
	}
	l := &Listener{Spec: spec, Bound: "unix://" + path, Shared: true, fds: []int{fd}}
	if !abstract {
		l.unlink = statSocketFile(path)
	}
	return l, nil
}

// removeStale deletes a socket file left behind by a process that is gone,
// and refuses one that something still listens on.
func removeStale(path string) error {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bind unix://%s: %w", path, err)
	}
	if info.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("bind unix://%s: file exists and is not a socket", path)
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		conn.Close()
		return fmt.Errorf("bind unix://%s: %w", path, syscall.EADDRINUSE)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("bind unix://%s: probe existing socket: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}

// socketFile remembers which file shardinit created, so Close never removes
// a socket that someone else has bound at the same path since.
type socketFile struct {
	path     string
	dev, ino uint64
}

func statSocketFile(path string) *socketFile {
	var st unix.Stat_t
	if unix.Lstat(path, &st) != nil {
		return nil
	}
	return &socketFile{path: path, dev: st.Dev, ino: st.Ino}
}

func (f *socketFile) remove() error {
	if f == nil {
		return nil
	}
	var st unix.Stat_t
	if unix.Lstat(f.path, &st) != nil || st.Dev != f.dev || st.Ino != f.ino {
		return nil
	}
	if err := os.Remove(f.path); err != nil {
		return fmt.Errorf("remove socket %s: %w", f.path, err)
	}
	return nil
}
