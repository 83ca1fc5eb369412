package spawn

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"unsafe"

	"github.com/shardinit/shardinit/internal/sigcatch"
	"golang.org/x/sys/unix"
)

// execStageArg0 marks a process as the exec stage. An argv[0] (rather than
// a variable) cannot leak into the worker's environment. sigcatch, which
// must tell the exec stage apart before main runs, holds the name.
const execStageArg0 = sigcatch.ExecStageArg0

// ExecStage turns this process into a worker if the supervisor started it
// as one, and returns at once otherwise. Call it first thing in main (and in
// a TestMain whose binary is run as a supervisor).
//
// Why a stage at all: the systemd protocol wants LISTEN_PID to be the
// worker's own PID, which a parent cannot know between fork and exec. The
// stage is the worker's PID already, so it sets LISTEN_PID (and
// WATCHDOG_PID, which the same rule holds for), puts every
// signal back to its default, clears the signal mask, and execs the command.
func ExecStage() {
	if len(os.Args) < 3 || os.Args[0] != execStageArg0 {
		return
	}
	os.Exit(execWorker(os.Args[1], os.Args[2:]))
}

func execWorker(path string, argv []string) int {
	// The mask is per thread and execve keeps the caller's.
	runtime.LockOSThread()
	env := os.Environ()
	pid := strconv.Itoa(os.Getpid())
	if os.Getenv("LISTEN_FDS") != "" {
		env = append(env, "LISTEN_PID="+pid)
	}
	if os.Getenv("WATCHDOG_USEC") != "" {
		env = append(env, "WATCHDOG_PID="+pid)
	}
	defaultSignals()
	err := unix.Exec(path, argv, env)
	fmt.Fprintf(os.Stderr, "shardinit: exec %s: %v\n", path, err)
	return execExitCode(err)
}

// defaultSignals undoes what a worker would otherwise inherit: execve keeps
// ignored signals ignored (Go's fork keeps SIG_IGN too, shardinit may itself
// have been started with SIGINT or SIGHUP ignored, and a C runtime linked
// into the stage may ignore 32) and keeps the blocked mask.
func defaultSignals() {
	var act [4]uint64 // struct sigaction, all zero: SIG_DFL, no flags, empty mask
	for n := 1; n <= 64; n++ {
		if n == int(unix.SIGKILL) || n == int(unix.SIGSTOP) {
			continue
		}
		unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(n), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	}
	var none unix.Sigset_t
	unix.PthreadSigmask(unix.SIG_SETMASK, &none, nil)
}

// execExitCode follows the shell: 127 when the command is not there, 126
// when it cannot be run.
func execExitCode(err error) int {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return 127
	}
	return 126
}
