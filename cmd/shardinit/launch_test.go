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

// launchInNetns execs `<bin> ARGS` in a new network namespace of its own
// whose loopback is up: ports there (80 too) touch nothing of the host's.
func launchInNetns(args []string) {
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		fmt.Fprintln(os.Stderr, "launch-in-netns: unshare:", err)
		os.Exit(1)
	}
	if err := loopbackUp(); err != nil {
		fmt.Fprintln(os.Stderr, "launch-in-netns:", err)
		os.Exit(1)
	}
	err := unix.Exec(os.Args[0], append([]string{os.Args[0]}, args...), os.Environ())
	fmt.Fprintln(os.Stderr, "launch-in-netns:", err)
	os.Exit(1)
}

func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("get lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}
