package balance

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/shardinit/shardinit/internal/accepting"
	"golang.org/x/sys/unix"
)

// fakeShards waits what queued says; sample reads no socket.
type fakeShards struct{ queued []int }

func (f *fakeShards) ShardFDs() [][]int { return make([][]int, len(f.queued)) }
func (f *fakeShards) Waiting(n int, counts []int) int {
	copy(counts, f.queued[:n])
	return n
}
func (f *fakeShards) SteerLoad([]int) (int, error) { return 0, nil }

func newTestBalancer(f *fakeShards, hold bool) *balancer {
	pids := make([]int, len(f.queued)) // no process: only queues tell
	cfg := Config{Shards: f, Workers: func() ([]int, bool) { return pids, hold }}.withDefaults()
	return &balancer{cfg: cfg, m: newMetrics(nil), busy: newTracker(), watched: f.ShardFDs()}
}

func TestSampleAvoidsQueuesThatWait(t *testing.T) {
	f := &fakeShards{queued: []int{0, 1, 0}}
	b := newTestBalancer(f, false)
	now := time.Now()
	if away := b.sample(now); away != nil {
		t.Errorf("a queue seen waiting once is avoided: %v, want none yet", away)
	}
	if away := b.sample(now.Add(time.Millisecond)); !slices.Equal(away, []int{1}) {
		t.Errorf("a queue that waited over two samples: avoided %v, want [1]", away)
	}
	// Every queue waits: the one that began to wait last (and has one
	// connection only) still takes new connections.
	f.queued = []int{3, 1, 1}
	b.sample(now.Add(2 * time.Millisecond))
	if away := b.sample(now.Add(3 * time.Millisecond)); !slices.Equal(away, []int{0, 1}) {
		t.Errorf("every queue waiting, avoided %v, want [0 1] (shard 2 began to wait last)", away)
	}
	f.queued = []int{3, 4, 2}
	if away := b.sample(now.Add(4 * time.Millisecond)); away != nil {
		t.Errorf("every queue backed up, avoided %v, want none: the kernel spreads", away)
	}
	b = newTestBalancer(&fakeShards{queued: []int{5, 0}}, true)
	b.sample(now)
	if away := b.sample(now.Add(time.Millisecond)); away != nil {
		t.Errorf("while the pool steers itself, avoided %v, want none", away)
	}
}

// A single-threaded process that holds a shard's socket is busy unless
// its syscall waits for a connection: here python3 in select, then in
// time.sleep, as a gunicorn sync worker idle and answering.
func TestTrackerSeesASyncWorkerBusy(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 8); err != nil {
		t.Fatal(err)
	}
	// select on the socket until stdin closes, then sleep: idle, then busy.
	cmd := exec.Command("python3", "-c", `import select, socket, sys, time
s = socket.socket(fileno=3)
select.select([s, sys.stdin], [], [])
time.sleep(30)`)
	cmd.ExtraFiles = []*os.File{os.NewFile(uintptr(fd), "shard")}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	tr := newTracker()
	defer tr.close()
	tr.shards([][]int{{fd}})
	pid := cmd.Process.Pid
	waitFor(t, "python3 in select", func() bool { return inWait(pid) })
	now := time.Now()
	if busy, _ := tr.busy(0, pid, now); busy {
		t.Errorf("python3 in select on the shard is busy, want idle")
	}
	if len(tr.workers[pid].acceptors) != 1 {
		t.Fatalf("acceptors %v, want python3 alone", tr.workers[pid].acceptors)
	}
	stdin.Close()
	waitFor(t, "python3 in time.sleep: busy", func() bool {
		busy, _ := tr.busy(0, pid, now)
		return busy
	})
}

// inWait says whether a process is in a wait for its sockets (select).
func inWait(pid int) bool {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", pid))
	return accepting.Waiting(b)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // poll /proc until the state shows
	}
}
