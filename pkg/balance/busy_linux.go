package balance

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

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
	inodes  [][]uint64 // per shard, its sockets' inodes
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
	t.inodes = make([][]uint64, len(fds))
	for shard, list := range fds {
		for _, fd := range list {
			var st unix.Stat_t
			if unix.Fstat(fd, &st) == nil {
				t.inodes[shard] = append(t.inodes[shard], st.Ino)
			}
		}
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
		if err != nil || waiting(t.buf[:n]) {
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

// waiting reads /proc/PID/syscall: "running", or the syscall's number
// and arguments ("-1 …" outside a syscall, as in a signal stop).
func waiting(line []byte) bool {
	nr, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(" "))
	n, err := strconv.Atoi(string(nr))
	return err == nil && waits[n]
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
		holds, c3 := t.holds(p, tr.shard)
		calls += c3
		if !holds {
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

// threadCount reads num_threads, the 20th field of /proc/PID/stat.
func threadCount(pid int) (int, int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 3
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 3
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 18 {
		return 0, 3
	}
	n, _ := strconv.Atoi(f[17])
	return n, 3
}

// holds says whether process p has one of shard's sockets open.
func (t *tracker) holds(p, shard int) (bool, int) {
	dir := fmt.Sprintf("/proc/%d/fd", p)
	ents, err := os.ReadDir(dir)
	calls := 3
	if err != nil {
		return false, calls
	}
	for _, e := range ents {
		link, err := os.Readlink(dir + "/" + e.Name())
		calls++
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]"), 10, 64)
		if err == nil && slices.Contains(t.inodes[shard], ino) {
			return true, calls
		}
	}
	return false, calls
}
