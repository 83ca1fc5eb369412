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

	"golang.org/x/sys/unix"
)

// Reserve makes the process hold at least n threads, then leaves those it
// made idle for the runtime to reuse. It returns how many threads the
// process has.
func Reserve(n int) (int, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return 0, fmt.Errorf("pipe2: %w", err)
	}
	defer unix.Close(p[0])
	var locked, done sync.WaitGroup
	locked.Add(n)
	for range n {
		// A goroutine wired to its thread leaves that thread to no other:
		// n of them alive at once hold n threads. Each then waits in a
		// blocking read, and the runtime hands the next to another thread,
		// idle ones first, then new.
		done.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread() // exiting locked would end the thread
			locked.Done()
			var b [1]byte
			unix.Read(p[0], b[:])
		})
	}
	locked.Wait()
	unix.Close(p[1]) // every read returns; the threads go idle, and stay
	done.Wait()
	return Count()
}

// Count is how many threads the process has now.
func Count() (int, error) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, fmt.Errorf("count OS threads: %w", err)
	}
	return len(tasks), nil
}
