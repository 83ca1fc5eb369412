package accepting

import "golang.org/x/sys/unix"

// archWaits are the waits x86-64 has besides every architecture's.
var archWaits = map[int]int{unix.SYS_ACCEPT: acceptCall, unix.SYS_POLL: pollCall, unix.SYS_SELECT: selectCall,
	unix.SYS_EPOLL_WAIT: eventCall}
