package worker

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// FirstFD is where the systemd protocol puts the first socket
// (SD_LISTEN_FDS_START); the others follow it.
const FirstFD = 3

// ErrNoListeners says that the process was not given any sockets.
var ErrNoListeners = errors.New("no listeners inherited: LISTEN_FDS is not set for this process (run it under shardinit)")

// InheritedListener is a socket a worker received from shardinit or systemd.
type InheritedListener struct {
	// Name comes from LISTEN_FDNAMES ("unknown" when it was not given).
	Name string
	net.Listener
}

// Inherited returns the listeners passed by the systemd socket-activation
// protocol (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES), in fd order. It clears
// those variables, so that the worker's own children do not take the
// sockets for theirs, and the listeners it returns are close-on-exec.
func Inherited() ([]InheritedListener, error) {
	n, names, err := listenEnv()
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	if err != nil {
		return nil, err
	}
	out := make([]InheritedListener, 0, n)
	for i := 0; i < n; i++ {
		l, err := fileListener(FirstFD+i, names[i])
		if err != nil {
			closeAll(out)
			closeFrom(FirstFD+i+1, FirstFD+n)
			return nil, err
		}
		out = append(out, InheritedListener{Name: names[i], Listener: l})
	}
	return out, nil
}

func listenEnv() (n int, names []string, err error) {
	pid, fds := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS")
	if fds == "" {
		return 0, nil, ErrNoListeners
	}
	if pid != strconv.Itoa(os.Getpid()) {
		return 0, nil, fmt.Errorf("%w: LISTEN_PID=%s is another process (this is %d)", ErrNoListeners, pid, os.Getpid())
	}
	n, err = strconv.Atoi(fds)
	if err != nil || n < 1 {
		return 0, nil, fmt.Errorf("%w: LISTEN_FDS=%q is not a positive number", ErrNoListeners, fds)
	}
	if v := os.Getenv("LISTEN_FDNAMES"); v != "" {
		names = strings.Split(v, ":")
	}
	for len(names) < n {
		names = append(names, "unknown")
	}
	return n, names[:n], nil
}

// fileListener wraps fd; net.FileListener dups it close-on-exec, so the
// original is closed and no bare copy leaks into the worker's children.
func fileListener(fd int, name string) (net.Listener, error) {
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	l, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("inherited fd %d (%s): %w", fd, name, err)
	}
	return l, nil
}

// closeFrom closes the inherited fds that were not taken yet.
func closeFrom(first, end int) {
	for fd := first; fd < end; fd++ {
		os.NewFile(uintptr(fd), "").Close()
	}
}

func closeAll(ls []InheritedListener) {
	for _, l := range ls {
		l.Close()
	}
}
