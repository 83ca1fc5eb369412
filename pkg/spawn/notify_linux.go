package spawn

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/shardinit/shardinit/internal/procstat"
	"golang.org/x/sys/unix"
)

// note is one sd_notify datagram, the socket it reached and what the
// kernel said of its sender.
type note struct {
	sock *notifySocket
	text string
	// sender is the sending process, and session its session when it
	// was still there as the message was read (0: gone, or unknown).
	sender, session int
}

// notifier opens one sd_notify socket per worker (READY=1, STOPPING=1,
// STATUS=…, WATCHDOG=1). A message counts for the worker whose socket it
// reached, whoever sent it and however briefly it lived: a helper such as
// systemd-notify has often exited, and been reaped, before shardinit reads
// what it sent, so its PID can no longer be tied to a worker.
type notifier struct {
	// dir holds path sockets (--notify-dir); "" means abstract names.
	dir   string
	owner *syscall.Credential // the workers' user, who must be able to send
	notes chan note
}

// notifySocket is one worker's socket.
type notifySocket struct {
	conn *net.UnixConn
	addr string // what NOTIFY_SOCKET says
	path string // the file to remove; "" for an abstract name
	done chan struct{}
}

// newNotifier prepares the sockets' home. A directory gets a private
// subdirectory that others may enter but not list, so a worker of another
// user cannot find the names.
func newNotifier(dir string, owner *syscall.Credential) (*notifier, error) {
	n := &notifier{owner: owner, notes: make(chan note, 256)}
	if dir == "" {
		return n, nil
	}
	n.dir = filepath.Join(dir, "shardinit-"+nonce(4))
	if err := os.Mkdir(n.dir, 0o711); err != nil {
		return nil, fmt.Errorf("notify-dir: %w", err)
	}
	return n, nil
}

func nonce(bytes int) string {
	b := make([]byte, bytes)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// open binds a new worker's socket and starts reading it. The name holds
// 128 random bits (96 in a path, which has less room).
func (n *notifier) open() (*notifySocket, error) {
	ns := &notifySocket{addr: "@shardinit/" + strconv.Itoa(os.Getpid()) + "/" + nonce(16), done: make(chan struct{})}
	if n.dir != "" {
		ns.path = filepath.Join(n.dir, nonce(12))
		ns.addr = ns.path
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: ns.addr, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notify socket %s: %w", ns.addr, err)
	}
	ns.conn = conn
	if err := n.prepare(ns); err != nil {
		conn.Close()
		return nil, err
	}
	go n.read(ns)
	return ns, nil
}

// prepare turns on SO_PASSCRED, and gives a path socket to the workers'
// user: sending to a socket file takes write permission on it.
func (n *notifier) prepare(ns *notifySocket) error {
	if err := passCredentials(ns.conn); err != nil {
		return err
	}
	if ns.path == "" {
		return nil
	}
	if n.owner != nil {
		if err := os.Lchown(ns.path, int(n.owner.Uid), int(n.owner.Gid)); err != nil {
			return fmt.Errorf("notify socket: %w", err)
		}
	}
	if err := os.Chmod(ns.path, 0o600); err != nil {
		return fmt.Errorf("notify socket: %w", err)
	}
	return nil
}

func passCredentials(conn *net.UnixConn) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return fmt.Errorf("notify socket: %w", err)
	}
	var sockErr error
	if err := raw.Control(func(fd uintptr) {
		sockErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}); err != nil {
		return fmt.Errorf("notify socket: %w", err)
	}
	if sockErr != nil {
		return fmt.Errorf("setsockopt SO_PASSCRED on the notify socket: %w", sockErr)
	}
	return nil
}

// read hands every datagram of ns to the loop until ns is closed. The
// sender's session is looked up here, at once, while a short-lived sender
// is most likely still there to be checked.
func (n *notifier) read(ns *notifySocket) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred)+unix.CmsgSpace(4*64))
	for {
		nb, noob, _, _, err := ns.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return // closed
		}
		sender := senderPID(oob[:noob])
		select {
		case n.notes <- note{sock: ns, text: string(buf[:nb]), sender: sender, session: sessionOf(sender)}:
		case <-ns.done:
			return
		}
	}
}

// sessionOf is pid's session, 0 if pid is gone (or 0).
func sessionOf(pid int) int {
	if pid <= 0 {
		return 0
	}
	st, err := procstat.Read(pid)
	if err != nil || st.State() == "Z" {
		return 0
	}
	sid, _ := st.Session()
	return sid
}

// senderPID finds the sender in the control messages, and closes any file
// descriptors a worker passed (shardinit keeps no fd store).
func senderPID(oob []byte) int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	pid := 0
	for i := range msgs {
		switch msgs[i].Header.Type {
		case unix.SCM_CREDENTIALS:
			if cred, err := unix.ParseUnixCredentials(&msgs[i]); err == nil {
				pid = int(cred.Pid)
			}
		case unix.SCM_RIGHTS:
			fds, _ := unix.ParseUnixRights(&msgs[i])
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
	}
	return pid
}

func (ns *notifySocket) close() {
	close(ns.done)
	ns.conn.Close()
	if ns.path != "" {
		os.Remove(ns.path)
	}
}

// close removes the sockets' directory; each socket was closed with its
// worker.
func (n *notifier) close() {
	if n.dir != "" {
		os.Remove(n.dir)
	}
}
