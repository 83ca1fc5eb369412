package osthreads

import (
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// Threads made by Reserve are the ones the runtime takes later: eight
// goroutines blocked in system calls at once need no new thread.
func TestReservedThreadsAreReused(t *testing.T) {
	if have, err := Reserve(12); err != nil || have < 12 {
		t.Fatalf("Reserve(12): %d threads, %v; want at least 12", have, err)
	}
	have, _ := Count()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	var blocked, done sync.WaitGroup
	blocked.Add(8)
	for range 8 {
		done.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			blocked.Done()
			var b [1]byte
			unix.Read(p[0], b[:])
		})
	}
	blocked.Wait()
	now, _ := Count()
	unix.Close(p[1])
	done.Wait()
	if now > have {
		t.Errorf("%d threads with 8 goroutines in system calls, %d before: new ones were made", now, have)
	}
}
