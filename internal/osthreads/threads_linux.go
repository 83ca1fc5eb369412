// Package osthreads makes a Go program create the OS threads it will need
// while it still can.
//
// The Go runtime starts a thread whenever every thread it has is busy
// (running Go code, blocked in a system call, or wired to a goroutine) and
// there is work to run, and it cannot survive a refusal: under a pids limit
// (a pod's podPidsLimit, docker --pids-limit) that a worker has used up,
// "failed to create new OS thread" ends the process. A PID 1 that dies
// takes every worker with it. Threads the runtime has made and no longer
// uses are kept idle and taken again before any new one is made, so a
// program whose peak need is known can create that many at start-up and
// never ask the kernel again.
package osthreads

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Reserve makes the process hold n threads beside the caller's, then
// leaves them idle for the runtime to reuse. It returns how many threads
// the process has.
func Reserve(n int) (int, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return 0, fmt.Errorf("pipe2: %w", err)
	}
	defer unix.Close(p[0])
	var blocked sync.WaitGroup
	for range n {
		// Each goroutine holds a thread in a blocking read, so the runtime
		// hands the others to further threads, idle ones first, then new.
		blocked.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread() // exiting locked would end the thread
			var b [1]byte
			unix.Read(p[0], b[:])
		})
	}
	have, err := waitFor(n+1, 5*time.Second)
	unix.Close(p[1]) // every read returns; the threads go idle, and stay
	blocked.Wait()
	return have, err
}

// waitFor polls the thread count until it reaches n: the runtime starts
// threads on its own schedule (its monitor notices a blocked one within
// microseconds to milliseconds).
func waitFor(n int, limit time.Duration) (int, error) {
	deadline := time.Now().Add(limit)
	for {
		have, err := Count()
		if err != nil || have >= n {
			return have, err
		}
		if time.Now().After(deadline) {
			return have, fmt.Errorf("reserve %d OS threads: %d after %s", n, have, limit)
		}
		time.Sleep(time.Millisecond)
	}
}

// Count is how many threads the process has now.
func Count() (int, error) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, fmt.Errorf("count OS threads: %w", err)
	}
	return len(tasks), nil
}
