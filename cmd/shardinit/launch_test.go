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

// Launchers start shardinit the way some parent or container runtime
// would: `<bin> LAUNCHER [DIR] ARGS` prepares the process, then execs
// `<bin> ARGS` in it (see start.launch).
var launchers = map[string]func(args []string) (rest []string, err error){
	"launch-masked":    maskSignals,
	"launch-in-cgroup": joinCgroup,
	"launch-in-netns":  enterNetns,
	// launch-in-netns-of PID joins the network namespace of PID.
	"launch-in-netns-of": joinNetns,
}

// launch runs launcher name with args; it returns only if name is none.
func launch(name string, args []string) {
	prepare, ok := launchers[name]
	if !ok {
		return
	}
	rest, err := prepare(args)
	if err == nil {
		err = unix.Exec(os.Args[0], append([]string{os.Args[0]}, rest...), os.Environ())
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	os.Exit(1)
}

// maskedSignals are blocked, and ignoredSignals ignored, in a shardinit
// started by launch-masked; none of that may reach its workers.
var (
	maskedSignals  = []unix.Signal{unix.SIGTERM, unix.SIGUSR2, unix.SIGWINCH}
	ignoredSignals = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT}
)

// maskSignals ignores some signals and blocks others, as a careless parent
// (a shell's background job, nohup, a supervisor written in C) may start
// shardinit.
func maskSignals(args []string) ([]string, error) {
	signal.Ignore(ignoredSignals...)
	// The mask is per thread and execve keeps the calling thread's.
	runtime.LockOSThread()
	var set unix.Sigset_t
	for _, s := range maskedSignals {
		set.Val[(s-1)/64] |= 1 << ((uint(s) - 1) % 64)
	}
	return args, unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil)
}

// joinCgroup moves this process into the cgroup args[0], so shardinit
// starts under that cgroup's CPU limit as in a container.
func joinCgroup(args []string) ([]string, error) {
	procs := filepath.Join(args[0], "cgroup.procs")
	return args[1:], os.WriteFile(procs, []byte(strconv.Itoa(os.Getpid())), 0o644)
}

// enterNetns moves this process into a new network namespace of its own
// whose loopback is up: ports there (80 too) touch nothing of the host's.
func enterNetns(args []string) ([]string, error) {
	// The namespace is the calling thread's until execve.
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("unshare: %w", err)
	}
	return args, loopbackUp()
}

func joinNetns(args []string) ([]string, error) {
	runtime.LockOSThread()
	return args[1:], setNetns("/proc/" + args[0] + "/ns/net")
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
