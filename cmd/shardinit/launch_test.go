package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// maskedSignals are blocked, and ignoredSignals ignored, in a shardinit
// started by launchMasked; none of that may reach its workers.
var (
	maskedSignals  = []unix.Signal{unix.SIGTERM, unix.SIGUSR2, unix.SIGWINCH}
	ignoredSignals = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT}
)

// launchMasked execs `<bin> ARGS` with some signals ignored and some
// blocked, as a careless parent (a shell's background job, nohup, a
// supervisor written in C) may start shardinit.
func launchMasked(args []string) {
	signal.Ignore(ignoredSignals...)
	// The mask is per thread and execve keeps the calling thread's.
	runtime.LockOSThread()
	var set unix.Sigset_t
	for _, s := range maskedSignals {
		set.Val[(s-1)/64] |= 1 << ((uint(s) - 1) % 64)
	}
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil); err != nil {
		fmt.Fprintln(os.Stderr, "launch-masked:", err)
		os.Exit(1)
	}
	err := unix.Exec(os.Args[0], append([]string{os.Args[0]}, args...), os.Environ())
	fmt.Fprintln(os.Stderr, "launch-masked:", err)
	os.Exit(1)
}

// launchInCgroup moves itself into the cgroup DIR, then execs `<bin> ARGS`,
// so shardinit starts under that cgroup's CPU limit as in a container.
func launchInCgroup(dir string, args []string) {
	procs := filepath.Join(dir, "cgroup.procs")
	if err := os.WriteFile(procs, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "launch-in-cgroup:", err)
		os.Exit(1)
	}
	err := unix.Exec(os.Args[0], append([]string{os.Args[0]}, args...), os.Environ())
	fmt.Fprintln(os.Stderr, "launch-in-cgroup:", err)
	os.Exit(1)
}
