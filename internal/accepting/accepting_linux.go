// Package accepting tells, from what /proc shows, whether a process waits
// for connections on given listening sockets: it has one in an epoll set
// that waits for input, or one of its threads is blocked in accept, poll
// or select on one. That sees a server wait without the server's help. It
// cannot see one that accepts through io_uring, whose wait is not a system
// call on the socket, nor one blocked in a call this package does not know.
package accepting

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Sockets are listening sockets by their inode, as fstat gives them.
type Sockets map[uint64]bool

// Inodes are the sockets behind fds.
func Inodes(fds []int) (Sockets, error) {
	socks := Sockets{}
	for _, fd := range fds {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return nil, fmt.Errorf("fstat fd %d: %w", fd, err)
		}
		socks[st.Ino] = true
	}
	return socks, nil
}

// ErrHidden says /proc does not show a process's fds to this one: another
// user's, without CAP_SYS_PTRACE.
var ErrHidden = errors.New("/proc does not show its file descriptors to shardinit")

// Sighting is a process seen waiting, and how: "epoll", "accept", "poll"
// or "select".
type Sighting struct {
	PID int
	How string
}

// Seek looks at each process in pids, in turn, and returns the first one
// seen waiting on socks. A process that is gone is passed over; one that
// is hidden ends the search with ErrHidden, unless another was seen.
func Seek(pids []int, socks Sockets) (Sighting, bool, error) {
	var hidden error
	for _, pid := range pids {
		how, err := look(pid, socks)
		switch {
		case errors.Is(err, ErrHidden):
			hidden = fmt.Errorf("pid %d: %w", pid, err)
		case how != "":
			return Sighting{PID: pid, How: how}, true, nil
		}
	}
	return Sighting{}, false, hidden
}

// look says how pid waits on socks; "" when it does not (or is gone).
func look(pid int, socks Sockets) (string, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	held, epolls, _, err := openFiles(dir, socks)
	if err != nil {
		return "", err
	}
	for _, fd := range epolls {
		if watches(dir, fd, socks) {
			return "epoll", nil
		}
	}
	if len(held) == 0 {
		return "", nil
	}
	return blocked(dir, held), nil
}

// openFiles finds which of pid's fds are sockets of socks, and which are
// epoll sets, and says how many fds it read.
func openFiles(dir string, socks Sockets) (held map[int]bool, epolls []int, fds int, err error) {
	entries, err := os.ReadDir(dir + "/fd")
	switch {
	case errors.Is(err, os.ErrPermission):
		return nil, nil, 0, ErrHidden
	case err != nil:
		return nil, nil, 0, nil // gone
	}
	held = map[int]bool{}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		link, err := os.Readlink(dir + "/fd/" + e.Name())
		fds++
		if errors.Is(err, os.ErrPermission) {
			return nil, nil, fds, ErrHidden
		}
		if ino, ok := socketInode(link); ok && socks[ino] {
			held[fd] = true
		} else if link == "anon_inode:[eventpoll]" {
			epolls = append(epolls, fd)
		}
	}
	return held, epolls, fds, nil
}

// socketInode reads "socket:[INODE]".
func socketInode(link string) (uint64, bool) {
	rest, ok := strings.CutPrefix(link, "socket:[")
	if !ok || !strings.HasSuffix(rest, "]") {
		return 0, false
	}
	ino, err := strconv.ParseUint(rest[:len(rest)-1], 10, 64)
	return ino, err == nil
}

// watches says whether an epoll set waits for input on one of socks. Each
// of its targets is a line of fdinfo:
//
//	tfd:        5 events:       19 data:                5  pos:0 ino:6f2a sdev:8
//
// A target whose events lack EPOLLIN (paused, or a fired EPOLLONESHOT) is
// not waited on.
func watches(dir string, fd int, socks Sockets) bool {
	b, err := os.ReadFile(dir + "/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "tfd:") && epollWaitsOn(line, socks) {
			return true
		}
	}
	return false
}

func epollWaitsOn(line string, socks Sockets) bool {
	var events, ino uint64
	var okEvents, okIno bool
	fields := strings.Fields(line)
	for i, f := range fields {
		switch {
		case f == "events:" && i+1 < len(fields):
			v, err := strconv.ParseUint(fields[i+1], 16, 32)
			events, okEvents = v, err == nil
		case strings.HasPrefix(f, "ino:"):
			v, err := strconv.ParseUint(f[len("ino:"):], 16, 64)
			ino, okIno = v, err == nil
		}
	}
	return okEvents && okIno && events&unix.EPOLLIN != 0 && socks[ino]
}

// blocked says how one of the process's threads is blocked on a held fd.
// /proc/PID/task/TID/syscall gives a blocked thread's call and arguments;
// poll's and select's fd sets are read from its memory.
func blocked(dir string, held map[int]bool) string {
	tasks, err := os.ReadDir(dir + "/task")
	if err != nil {
		return ""
	}
	mem := &memory{path: dir + "/mem"}
	defer mem.close()
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/task/" + t.Name() + "/syscall")
		if err != nil {
			continue
		}
		nr, args, ok := parseSyscall(string(b))
		if !ok {
			continue
		}
		if how := waitsIn(nr, args, held, mem); how != "" {
			return how
		}
	}
	return ""
}

// Waiting says whether a /proc/PID/syscall line shows its thread blocked
// in a call that waits for sockets (accept, poll, select, epoll, io_uring),
// whichever they are: a server in one is waiting for work, not doing it.
func Waiting(line []byte) bool {
	nr, _, ok := parseSyscall(string(line))
	return ok && waits[nr] != 0
}

// Holds says whether pid has one of socks open, and how many of its fds
// it read (a readlink each) to tell.
func Holds(pid int, socks Sockets) (bool, int, error) {
	held, _, fds, err := openFiles("/proc/"+strconv.Itoa(pid), socks)
	return len(held) > 0, fds, err
}

// parseSyscall reads "NR ARG0 … ARG5 SP PC"; a thread that runs, or is
// not in a call, shows "running" or "-1 …".
func parseSyscall(s string) (int, [6]uint64, bool) {
	var args [6]uint64
	fields := strings.Fields(s)
	if len(fields) < 7 {
		return 0, args, false
	}
	nr, err := strconv.Atoi(fields[0])
	if err != nil || nr < 0 {
		return 0, args, false
	}
	for i := range args {
		v, err := strconv.ParseUint(strings.TrimPrefix(fields[i+1], "0x"), 16, 64)
		if err != nil {
			return 0, args, false
		}
		args[i] = v
	}
	return nr, args, true
}

// The waits this package knows, by kind.
const (
	acceptCall = iota + 1
	pollCall   // struct pollfd *fds, nfds
	selectCall // nfds, fd_set *readfds
	// eventCall waits on an epoll set or an io_uring: which sockets it
	// waits on is in the set's fdinfo (watches), not in its arguments.
	eventCall
)

func waitsIn(nr int, args [6]uint64, held map[int]bool, mem *memory) string {
	switch waits[nr] {
	case acceptCall:
		if held[int(args[0])] {
			return "accept"
		}
	case pollCall:
		if mem.pollsOn(args[0], args[1], held) {
			return "poll"
		}
	case selectCall:
		if mem.selectsOn(args[0], args[1], held) {
			return "select"
		}
	}
	return ""
}

// waits maps the calls of every architecture, and those of this one
// (archWaits), to their kind.
var waits = func() map[int]int {
	m := map[int]int{unix.SYS_ACCEPT4: acceptCall, unix.SYS_PPOLL: pollCall, unix.SYS_PSELECT6: selectCall,
		unix.SYS_EPOLL_PWAIT: eventCall, unix.SYS_EPOLL_PWAIT2: eventCall, unix.SYS_IO_URING_ENTER: eventCall}
	for nr, kind := range archWaits {
		m[nr] = kind
	}
	return m
}()

// memory reads a process's memory, opened on first use. Where /proc
// refuses it (ptrace rules), poll and select waits go unseen.
type memory struct {
	path   string
	f      *os.File
	failed bool
}

func (m *memory) read(addr uint64, n int) []byte {
	if m.f == nil && !m.failed {
		f, err := os.Open(m.path)
		m.f, m.failed = f, err != nil
	}
	if m.f == nil || addr == 0 || addr > 1<<63 {
		return nil
	}
	b := make([]byte, n)
	if _, err := m.f.ReadAt(b, int64(addr)); err != nil {
		return nil
	}
	return b
}

func (m *memory) close() {
	if m.f != nil {
		m.f.Close()
	}
}

// pollsOn reads nfds struct pollfd {int fd; short events, revents;}.
func (m *memory) pollsOn(addr, nfds uint64, held map[int]bool) bool {
	if nfds == 0 || nfds > 4096 {
		return false
	}
	b := m.read(addr, int(nfds)*8)
	for i := 0; i+8 <= len(b); i += 8 {
		fd := int(int32(binary.NativeEndian.Uint32(b[i:])))
		events := binary.NativeEndian.Uint16(b[i+4:])
		if held[fd] && events&(unix.POLLIN) != 0 {
			return true
		}
	}
	return false
}

// selectsOn reads the read set of select(nfds, readfds, …): a bitmap of
// nfds bits in longs.
func (m *memory) selectsOn(nfds, addr uint64, held map[int]bool) bool {
	if nfds == 0 || nfds > 1<<16 {
		return false
	}
	b := m.read(addr, int((nfds+63)/64*8))
	for fd := range held {
		word := fd / 64 * 8
		if fd >= 0 && uint64(fd) < nfds && word+8 <= len(b) && binary.NativeEndian.Uint64(b[word:])&(1<<(fd%64)) != 0 {
			return true
		}
	}
	return false
}
