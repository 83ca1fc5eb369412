package listen

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// The kernel's socket tables are read through sock_diag (netlink
// NETLINK_SOCK_DIAG, inet_diag), which needs no privilege and, asked for
// listeners only, walks only the listening hash: cheap enough to ask
// before every change to a group.

const (
	sizeofDiagReq = 56 // struct inet_diag_req_v2
	sizeofDiagMsg = 72 // struct inet_diag_msg
	tcpListen     = 10 // TCP_LISTEN in the kernel's state numbering
)

// member is one listening socket as sock_diag reports it.
type member struct {
	addr  netip.AddrPort
	dev   uint32
	inode uint32
}

// listeners returns every listening TCP socket of family in this network
// namespace.
func listeners(family int) ([]member, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("sock_diag: %w", err)
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(time.Second.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return nil, fmt.Errorf("sock_diag: %w", err)
	}
	if err := unix.Sendto(fd, diagRequest(family), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("sock_diag: send: %w", err)
	}
	var out []member
	buf := make([]byte, 64<<10)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("sock_diag: receive: %w", err)
		}
		done, err := parseDiag(buf[:n], family, &out)
		if err != nil || done {
			return out, err
		}
	}
}

func diagRequest(family int) []byte {
	b := make([]byte, unix.NLMSG_HDRLEN+sizeofDiagReq)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	req := b[unix.NLMSG_HDRLEN:]
	req[0], req[1] = byte(family), unix.IPPROTO_TCP
	ne.PutUint32(req[4:], 1<<tcpListen)
	return b
}

// parseDiag appends the listeners in one netlink read to out; done says
// that the dump has ended.
func parseDiag(b []byte, family int, out *[]member) (done bool, err error) {
	ne := binary.NativeEndian
	for len(b) >= unix.NLMSG_HDRLEN {
		size := int(ne.Uint32(b[0:]))
		if size < unix.NLMSG_HDRLEN || size > len(b) {
			return false, fmt.Errorf("sock_diag: message of %d bytes in %d", size, len(b))
		}
		switch typ := ne.Uint16(b[4:]); typ {
		case unix.NLMSG_DONE:
			return true, nil
		case unix.NLMSG_ERROR:
			if size >= unix.NLMSG_HDRLEN+4 {
				if errno := int32(ne.Uint32(b[unix.NLMSG_HDRLEN:])); errno != 0 {
					return false, fmt.Errorf("sock_diag: %w", unix.Errno(-errno))
				}
			}
			return true, nil
		case unix.SOCK_DIAG_BY_FAMILY:
			if size >= unix.NLMSG_HDRLEN+sizeofDiagMsg {
				*out = append(*out, parseMember(b[unix.NLMSG_HDRLEN:size], family))
			}
		}
		b = b[min(nlmAlign(size), len(b)):]
	}
	return false, nil
}

func nlmAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// parseMember reads a struct inet_diag_msg: its inet_diag_sockid holds the
// port and address in network order, the device, and the inode follows.
func parseMember(m []byte, family int) member {
	id := m[4:]
	port := binary.BigEndian.Uint16(id[0:])
	var ip netip.Addr
	if family == unix.AF_INET {
		ip = netip.AddrFrom4([4]byte(id[4:8]))
	} else {
		ip = netip.AddrFrom16([16]byte(id[4:20]))
	}
	ne := binary.NativeEndian
	return member{addr: netip.AddrPortFrom(ip, port), dev: ne.Uint32(id[36:]), inode: ne.Uint32(m[68:])}
}
