package balance

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/shardinit/shardinit/internal/accepting"
	"github.com/shardinit/shardinit/internal/procstat"
	"golang.org/x/sys/unix"
)

// maxProcesses bounds the walk of one worker's process tree.
const maxProcesses = 64

// tracker tells whether a shard's worker is busy. A worker is busy when
// it has acceptors and each is in a syscall that is no wait for a
// connection, or running. Its acceptors are the single-threaded processes
// without children that hold one of the shard's sockets: a prefork
// master (which has children) or a threaded server tells nothing by its
// syscall.
type tracker struct {
	inodes  []accepting.Sockets // per shard, its sockets
	workers map[int]*tree
	buf     [64]byte
}

// tree is what one worker's processes show, as last looked at.
type tree struct {
	shard     int
	looked    time.Time
	acceptors []int // open /proc/PID/syscall files
}

func newTracker() *tracker { return &tracker{workers: map[int]*tree{}} }

// shards takes the shards' sockets anew; every tree is looked at again.
func (t *tracker) shards(fds [][]int) {
	t.inodes = make([]accepting.Sockets, len(fds))
	for shard, list := range fds {
		t.inodes[shard], _ = accepting.Inodes(list) // none: a shard that just closed
	}
	t.close()
}

func (t *tracker) close() {
	for pid, tr := range t.workers {
		tr.close()
		delete(t.workers, pid)
	}
}

func (tr *tree) close() {
	for _, fd := range tr.acceptors {
		unix.Close(fd)
	}
}

// busy says whether the worker pid of shard is busy now, and how many
// syscalls it took to tell.
func (t *tracker) busy(shard, pid int, now time.Time) (bool, int) {
	if pid <= 0 || shard >= len(t.inodes) {
		return false, 0
	}
	calls := 0
	tr := t.workers[pid]
	if tr == nil || tr.shard != shard || now.Sub(tr.looked) > lookAgain {
		if tr != nil {
			tr.close()
		}
		t.forget(now)
		tr = &tree{shard: shard, looked: now}
		calls = t.look(tr, pid)
		t.workers[pid] = tr
	}
	if len(tr.acceptors) == 0 {
		return false, calls
	}
	for _, fd := range tr.acceptors {
		n, err := unix.Pread(fd, t.buf[:], 0)
		calls++
		if err != nil || accepting.Waiting(t.buf[:n]) {
			return false, calls
		}
	}
	return true, calls
}

// forget drops the trees of workers not asked about lately: they exited
// or serve no shard now.
func (t *tracker) forget(now time.Time) {
	for pid, tr := range t.workers {
		if now.Sub(tr.looked) > 2*lookAgain {
			tr.close()
			delete(t.workers, pid)
		}
	}
}

// look finds tr's acceptors among pid and its descendants, and says how
// many syscalls that took.
func (t *tracker) look(tr *tree, pid int) int {
	calls := 0
	queue := []int{pid}
	for seen := 0; len(queue) > 0 && seen < maxProcesses; seen++ {
		p := queue[0]
		queue = queue[1:]
		kids, c1 := children(p)
		threads, c2 := threadCount(p)
		calls += c1 + c2
		queue = append(queue, kids...)
		if len(kids) > 0 || threads != 1 {
			continue
		}
		holds, fds, err := accepting.Holds(p, t.inodes[tr.shard])
		calls += 3 + fds          // open, getdents, close, and a readlink per fd
		if err != nil || !holds { // hidden: another user's process
			continue
		}
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/syscall", p), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		calls++
		if err == nil { // EACCES: another user's process, which tells nothing here
			tr.acceptors = append(tr.acceptors, fd)
		}
	}
	return calls
}

// children reads a process's children (the main thread's: a server's
// other threads do not fork).
func children(pid int) ([]int, int) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)) // none once it exited
	var kids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			kids = append(kids, n)
		}
	}
	return kids, 3
}

// threadCount reads num_threads, field 20 of /proc/PID/stat.
func threadCount(pid int) (int, int) {
	st, err := procstat.Read(pid)
	if err != nil {
		return 0, 3
	}
	f, _ := st.Field(20)
	n, _ := strconv.Atoi(f)
	return n, 3
}
