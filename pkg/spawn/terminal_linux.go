package spawn

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// On a terminal (docker run -it), only the terminal's foreground process
// group may read it: a worker in any other group is stopped by SIGTTIN on
// its first read. So when shardinit is in the foreground of its controlling
// terminal, the workers do not get sessions of their own; they share one
// process group, made the foreground group as the first of them starts (as
// tini does for its child), and the terminal goes back to shardinit when
// the last of them has exited. Ctrl-C then reaches every worker from the
// terminal itself, and a worker that dies of it stops the pool, as it
// would stop a shell's job. The cost: on a terminal, the workers are not
// kept apart by sessions, and leftovers are stopped only with the pool.

// onTerminal reports whether shardinit is in the foreground of the
// terminal on its standard input, which is then its controlling terminal.
func onTerminal() bool {
	fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil && fg == unix.Getpgrp()
}

// procAttr is how a worker is isolated from the others.
func (s *supervisor) procAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: s.cfg.Credential}
	if !s.terminal {
		// A session of its own (and so a process group): no process of
		// this worker can join another worker's group, and what it
		// leaves behind can be found.
		a.Setsid = true
		return a
	}
	// Go's fork blocks signals until after TIOCSPGRP, so the child is not
	// stopped by SIGTTOU for taking the terminal from the background.
	a.Setpgid, a.Pgid, a.Foreground, a.Ctty = true, s.fgGroup, true, 0
	return a
}

// reclaimTerminal makes shardinit's group the foreground group again once
// no worker is left in the workers' group.
func (s *supervisor) reclaimTerminal() {
	if !s.terminal || s.fgGroup == 0 || len(s.byPID) > 0 {
		return
	}
	s.fgGroup = 0
	// Asking from the background raises SIGTTOU unless it is blocked; the
	// mask is this locked thread's.
	var ttou, old unix.Sigset_t
	ttou.Val[(unix.SIGTTOU-1)/64] |= 1 << ((uint(unix.SIGTTOU) - 1) % 64)
	unix.PthreadSigmask(unix.SIG_BLOCK, &ttou, &old)
	err := unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, unix.Getpgrp())
	unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	if err != nil {
		s.log.Warn("take back the terminal", "err", err)
	}
}
