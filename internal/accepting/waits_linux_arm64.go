package accepting

import "golang.org/x/sys/unix"

// archWaits are the waits arm64 has besides every architecture's.
var archWaits = map[int]int{unix.SYS_ACCEPT: acceptCall}
