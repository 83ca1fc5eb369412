package spawn

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// note is one sd_notify datagram and the PID that sent it.
type note struct {
	pid  int
	text string
}

// notifySocket receives the workers' sd_notify messages (READY=1,
// STOPPING=1, STATUS=…, WATCHDOG=1). Its address is abstract, so workers
// running as another user can send to it; SO_PASSCRED makes the kernel
// attach every sender's PID, which is how a message is tied to its worker.
type notifySocket struct {
	conn  *net.UnixConn
	addr  string
	notes chan note
	done  chan struct{}
}

func openNotify() (*notifySocket, error) {
	var nonce [8]byte
	rand.Read(nonce[:])
	addr := fmt.Sprintf("@shardinit/%d/%s", os.Getpid(), hex.EncodeToString(nonce[:]))
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notify socket %s: %w", addr, err)
	}
	if err := passCredentials(conn); err != nil {
		conn.Close()
		return nil, err
	}
	n := &notifySocket{conn: conn, addr: addr, notes: make(chan note, 64), done: make(chan struct{})}
	go n.read()
	return n, nil
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

func (n *notifySocket) read() {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred)+unix.CmsgSpace(4*64))
	for {
		nb, noob, _, _, err := n.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return // closed
		}
		pid := senderPID(oob[:noob])
		if pid == 0 {
			continue
		}
		select {
		case n.notes <- note{pid: pid, text: string(buf[:nb])}:
		case <-n.done:
			return
		}
	}
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

func (n *notifySocket) close() {
	close(n.done)
	n.conn.Close()
}
