package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// inNetns runs fn on a thread moved into pid's network namespace, and
// moves the thread back before it runs anything else of the test. A thread
// left behind would not do: this one may be the main thread, which Go never
// ends, and whose namespace is the one /proc/net shows the whole test.
func inNetns(t *testing.T, pid int, fn func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- visitNetns(fmt.Sprintf("/proc/%d/ns/net", pid), fn) }()
	if err := <-done; err != nil {
		t.Fatalf("network namespace of %d: %v", pid, err)
	}
}

// visitNetns runs fn with the calling goroutine's thread in the network
// namespace at path, and brings the thread back. Sockets belong to the
// namespace of the thread that makes them.
func visitNetns(path string, fn func()) error {
	runtime.LockOSThread()
	home, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer home.Close()
	if err := setNetns(path); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	fn()
	// Unlocked only once home again; otherwise the thread ends with the
	// goroutine.
	if err := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("return to the test's network namespace: %w", err)
	}
	runtime.UnlockOSThread()
	return nil
}

// setNetns moves the calling thread into the network namespace at path.
func setNetns(path string) error {
	ns, err := os.Open(path)
	if err != nil {
		return err
	}
	defer ns.Close()
	return unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET)
}

// rawGet does GET / on a connection made by the calling thread, so in its
// network namespace (http.Client would dial from another thread).
func rawGet(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = request(conn, bufio.NewReader(conn), false)
	return err
}

// getsInNetns does GET / on addr from pid's network namespace until want
// requests have been answered or 10 s have passed, and says how many were.
func getsInNetns(t *testing.T, pid int, addr string, want int) (answered int) {
	t.Helper()
	inNetns(t, pid, func() {
		for deadline := time.Now().Add(10 * time.Second); answered < want && time.Now().Before(deadline); {
			if rawGet(addr) == nil {
				answered++
			} else {
				time.Sleep(10 * time.Millisecond)
			}
		}
	})
	return answered
}

// procField is a line of /proc/PID/status, without its name.
func procField(pid int, name string) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}

// --user 65534 with a listener on :80: shardinit (root) binds, the
// workers run as 65534 with no supplementary group and serve port 80.
func TestUserServesPort80(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("binding :80 and switching users needs root")
	}
	bin := copyForEveryone(t)
	in := startShardinit(t, start{launch: []string{"launch-in-netns"}, prepare: func(cmd *exec.Cmd) {
		cmd.Args[len(cmd.Args)-3] = bin // a worker binary that 65534 may run
	}}, append([]string{"--workers", "2", "--user", "65534", "--listen", "http=:80", "--health-addr", "", "--"},
		worker("http")...)...)
	workers := waitWorkers(t, in, 2, "http")
	for _, pid := range workers {
		if uid, gid, groups := procField(pid, "Uid"), procField(pid, "Gid"), procField(pid, "Groups"); uid != "65534 65534 65534 65534" ||
			gid != "65534 65534 65534 65534" || groups != "" {
			t.Errorf("worker %d: Uid %q Gid %q Groups %q, want 65534 everywhere and no groups", pid, uid, gid, groups)
		}
	}
	if uid := procField(in.cmd.Process.Pid, "Uid"); !strings.HasPrefix(uid, "0 ") {
		t.Errorf("shardinit runs as %q, want root", uid)
	}
	if served := getsInNetns(t, in.cmd.Process.Pid, "127.0.0.1:80", 10); served < 10 {
		t.Errorf("port 80 answered %d of 10 requests", served)
	}
	in.stopCleanly()
}

// shardinit itself runs as an unprivileged user, for ports above 1024.
func TestRunsAsNonRoot(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a process as another user")
	}
	bin := copyForEveryone(t)
	port := freePort(t)
	in := startShardinit(t, start{prepare: func(cmd *exec.Cmd) {
		cmd.Path, cmd.Args[0] = bin, bin
		cmd.Args[len(cmd.Args)-3] = bin // the worker command is the same binary
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	}}, append([]string{"--workers", "2", "--listen", listenArg("http", port), "--health-addr", "", "--"}, worker("http")...)...)
	waitServing(t, in, port)
	for _, pid := range slotPIDs(t, port, 2) {
		if uid := procField(pid, "Uid"); !strings.HasPrefix(uid, "65534 ") {
			t.Errorf("worker %d runs as %q, want 65534", pid, uid)
		}
	}
	in.stopCleanly()
}

// copyForEveryone copies the test binary where any user may run it.
func copyForEveryone(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(dir, "shardinit.test")
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err == nil {
		_, err = io.Copy(dst, src)
		dst.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
