package balance

import "golang.org/x/sys/unix"

// waits are the syscalls in which a process waits for a new connection
// (or for any of its sockets, which includes the listener): a process
// blocked in one of them is not busy. Every architecture has these.
var waits = map[int]bool{
	unix.SYS_ACCEPT: true, unix.SYS_ACCEPT4: true,
	unix.SYS_PPOLL: true, unix.SYS_PSELECT6: true,
	unix.SYS_EPOLL_PWAIT: true, unix.SYS_EPOLL_PWAIT2: true,
	unix.SYS_IO_URING_ENTER: true,
}
