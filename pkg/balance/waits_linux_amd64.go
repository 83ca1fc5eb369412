package balance

import "golang.org/x/sys/unix"

// amd64 keeps the older waits that arm64 never had.
func init() {
	for _, nr := range []int{unix.SYS_SELECT, unix.SYS_POLL, unix.SYS_EPOLL_WAIT} {
		waits[nr] = true
	}
}
