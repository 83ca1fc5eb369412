package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// established counts the ESTABLISHED TCP connections on local port that
// pid holds open: the requests a worker has in flight, at most, when it
// dies. It asks the kernel for established sockets only (sock_diag), so
// that it stays cheap while a run without keep-alive leaves a hundred
// thousand TIME_WAIT entries, which /proc/net/tcp would print every time
// (and which slowed the very connections being measured).
func established(pid, port int) int {
	inodes := map[uint32]bool{}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if rest, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			if ino, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 32); err == nil {
				inodes[uint32(ino)] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0
	}
	n := 0
	for _, family := range []int{unix.AF_INET, unix.AF_INET6} {
		dumpEstablished(family, func(sport uint16, inode uint32) {
			if int(sport) == port && inodes[inode] {
				n++
			}
		})
	}
	return n
}

// dumpEstablished calls each with the local port and inode of every
// established TCP socket of family in this network namespace.
func dumpEstablished(family int, each func(sport uint16, inode uint32)) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(time.Second.Nanoseconds())
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	// struct nlmsghdr, then struct inet_diag_req_v2 (56 bytes).
	req := make([]byte, unix.NLMSG_HDRLEN+56)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	body := req[unix.NLMSG_HDRLEN:]
	body[0], body[1] = byte(family), unix.IPPROTO_TCP
	ne.PutUint32(body[4:], 1<<1) // TCP_ESTABLISHED
	if unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}) != nil {
		return
	}
	buf := make([]byte, 64<<10)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return
		}
		for b := buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			size := int(ne.Uint32(b[0:]))
			if size < unix.NLMSG_HDRLEN || size > len(b) {
				return
			}
			switch ne.Uint16(b[4:]) {
			case unix.NLMSG_DONE, unix.NLMSG_ERROR:
				return
			case unix.SOCK_DIAG_BY_FAMILY:
				// struct inet_diag_msg: the port (network order) at 4,
				// the inode at 68.
				if m := b[unix.NLMSG_HDRLEN:size]; len(m) >= 72 {
					each(binary.BigEndian.Uint16(m[4:]), ne.Uint32(m[68:]))
				}
			}
			b = b[min((size+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1), len(b)):]
		}
	}
}
