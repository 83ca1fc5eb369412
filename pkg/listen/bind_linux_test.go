package listen

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// bind binds values (--listen syntax) and closes the set when the test ends.
func bind(t *testing.T, shards int, opts Options, values ...string) *Set {
	t.Helper()
	specs, err := Specs(values)
	if err != nil {
		t.Fatal(err)
	}
	set, err := Bind(specs, shards, opts)
	if err != nil {
		t.Fatalf("Bind(%q): %v", values, err)
	}
	t.Cleanup(func() { set.Close() })
	return set
}

func sockopt(t *testing.T, fd, level, key int) int {
	t.Helper()
	v, err := unix.GetsockoptInt(fd, level, key)
	if err != nil {
		t.Fatalf("getsockopt on fd %d: %v", fd, err)
	}
	return v
}

func portOf(t *testing.T, fd int) int {
	t.Helper()
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return sa.Port
	case *unix.SockaddrInet6:
		return sa.Port
	}
	t.Fatalf("fd %d is bound to %#v, want an inet address", fd, sa)
	return 0
}

// acceptOn waits up to 5s for a connection on any of fds, accepts it, and
// returns the index of the fd that had it.
func acceptOn(t *testing.T, fds []int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	pfds := make([]unix.PollFd, len(fds))
	for {
		for i, fd := range fds {
			pfds[i] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("no connection arrived on fds %v within 5s", fds)
		}
		n, err := unix.Poll(pfds, int(left.Milliseconds())+1)
		if errors.Is(err, unix.EINTR) || n == 0 {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range pfds {
			if p.Revents&unix.POLLIN != 0 {
				conn, _, err := unix.Accept4(fds[i], unix.SOCK_CLOEXEC)
				if err != nil {
					t.Fatalf("accept on fd %d: %v", p.Fd, err)
				}
				unix.Close(conn)
				return i
			}
		}
	}
}

// dialAndAccept connects to addr and checks that one of fds accepts it.
func dialAndAccept(t *testing.T, network, addr string, fds []int) int {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return acceptOn(t, fds)
}

func countFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func hasIPv6Loopback() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func TestBindPerWorker(t *testing.T) {
	abstract := fmt.Sprintf("@shardinit-test-%d-perworker", os.Getpid())
	set := bind(t, 3, Options{}, "web=127.0.0.1:0", "sock=unix://"+abstract)
	web, sock := set.Listeners[0], set.Listeners[1]
	if web.Shards() != 3 || sock.Shards() != 1 {
		t.Fatalf("got %d and %d shards, want 3 and 1", web.Shards(), sock.Shards())
	}
	fds := []int{web.FD(0), web.FD(1), web.FD(2)}
	if len(slices.Compact(slices.Sorted(slices.Values(fds)))) != 3 {
		t.Fatalf("got fds %v, want 3 distinct sockets", fds)
	}
	port := portOf(t, fds[0])
	if port == 0 {
		t.Fatal("got port 0, want the port the kernel chose")
	}
	if want := "127.0.0.1:" + strconv.Itoa(port); web.Bound != want {
		t.Errorf("got Bound %q, want %q", web.Bound, want)
	}
	for _, fd := range fds {
		if got := portOf(t, fd); got != port {
			t.Errorf("fd %d: got port %d, want %d", fd, got, port)
		}
		if got := sockopt(t, fd, unix.SOL_SOCKET, unix.SO_REUSEPORT); got != 1 {
			t.Errorf("fd %d: got SO_REUSEPORT %d, want 1", fd, got)
		}
		// Blocking as systemd passes sockets, and never leaked to a child
		// unless it is placed at fd 3.. on purpose.
		if fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); fl&unix.O_NONBLOCK != 0 {
			t.Errorf("fd %d is O_NONBLOCK, want blocking", fd)
		}
		if fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); fl&unix.FD_CLOEXEC == 0 {
			t.Errorf("fd %d is not close-on-exec", fd)
		}
	}
	if got := web.FD(4); got != fds[1] {
		t.Errorf("FD(4) = %d, want slot 4 to wrap to shard 1 (fd %d)", got, fds[1])
	}
	for slot := range 4 {
		want := []int{web.FD(slot), sock.FD(0)}
		if got := set.FDs(slot); !slices.Equal(got, want) {
			t.Errorf("FDs(%d) = %v, want %v", slot, got, want)
		}
	}
	if got, want := set.Names(), []string{"web", "sock"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	if sock.Bound != "unix://"+abstract {
		t.Errorf("got Bound %q, want %q", sock.Bound, "unix://"+abstract)
	}
	dialAndAccept(t, "unix", abstract, []int{sock.FD(0)})
}

func TestBindShared(t *testing.T) {
	set := bind(t, 3, Options{Mode: Shared}, "web=127.0.0.1:0")
	web := set.Listeners[0]
	if web.Shards() != 1 {
		t.Fatalf("got %d shards, want 1", web.Shards())
	}
	if web.FD(0) != web.FD(2) {
		t.Errorf("FD(0) = %d and FD(2) = %d, want every slot on the same socket", web.FD(0), web.FD(2))
	}
	if got := sockopt(t, web.FD(0), unix.SOL_SOCKET, unix.SO_REUSEPORT); got != 0 {
		t.Errorf("got SO_REUSEPORT %d, want 0", got)
	}
	dialAndAccept(t, "tcp", web.Bound, []int{web.FD(0)})
}

func TestBindZeroShardsMeansOne(t *testing.T) {
	set := bind(t, 0, Options{}, "127.0.0.1:0")
	if got := set.Listeners[0].Shards(); got != 1 {
		t.Errorf("got %d shards, want 1", got)
	}
}

func TestBindConnectionsReachTheShards(t *testing.T) {
	set := bind(t, 3, Options{}, "web=127.0.0.1:0")
	web := set.Listeners[0]
	fds := []int{web.FD(0), web.FD(1), web.FD(2)}
	for range 6 {
		dialAndAccept(t, "tcp", web.Bound, fds)
	}
}

func TestBindPortInUse(t *testing.T) {
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	addr := plain.Addr().String()
	before := countFDs(t)
	specs, err := Specs([]string{"first=127.0.0.1:0", "web=" + addr})
	if err != nil {
		t.Fatal(err)
	}
	set, err := Bind(specs, 3, Options{})
	if err == nil {
		set.Close()
		t.Fatalf("Bind on %s, where a plain listener is: got no error, want EADDRINUSE", addr)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("got error %v, want EADDRINUSE", err)
	}
	if want := "listener web: bind " + addr + ": address already in use"; err.Error() != want {
		t.Errorf("got error %q, want %q", err, want)
	}
	if after := countFDs(t); after != before {
		t.Errorf("got %d open fds after the failed Bind, want %d as before", after, before)
	}
}

func TestBindDualStack(t *testing.T) {
	set := bind(t, 2, Options{}, "web=:0")
	web := set.Listeners[0]
	fds := []int{web.FD(0), web.FD(1)}
	port := strconv.Itoa(portOf(t, fds[0]))
	dialAndAccept(t, "tcp4", "127.0.0.1:"+port, fds)
	if !hasIPv6Loopback() {
		t.Skip("no IPv6 loopback: only the IPv4 side was checked")
	}
	if want := "[::]:" + port; web.Bound != want {
		t.Errorf("got Bound %q, want %q", web.Bound, want)
	}
	dialAndAccept(t, "tcp6", "[::1]:"+port, fds)
}

func TestBindAddressFamily(t *testing.T) {
	tests := []struct {
		value      string
		wantFamily int
		wantV6Only int // checked for AF_INET6 only
	}{
		{"tcp4://:0", unix.AF_INET, 0},
		{"127.0.0.1:0", unix.AF_INET, 0},
		{"tcp6://[::1]:0", unix.AF_INET6, 1},
		{"tcp6://:0", unix.AF_INET6, 1},
		{"[::]:0", unix.AF_INET6, 0},
		{"[::1]:0", unix.AF_INET6, 1}, // the kernel sets it for a specific address
	}
	v6 := hasIPv6Loopback()
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			if tt.wantFamily == unix.AF_INET6 && !v6 {
				t.Skip("no IPv6 loopback")
			}
			fd := bind(t, 1, Options{}, tt.value).Listeners[0].FD(0)
			if got := sockopt(t, fd, unix.SOL_SOCKET, unix.SO_DOMAIN); got != tt.wantFamily {
				t.Errorf("got family %d, want %d", got, tt.wantFamily)
			}
			if tt.wantFamily != unix.AF_INET6 {
				return
			}
			if got := sockopt(t, fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); got != tt.wantV6Only {
				t.Errorf("got IPV6_V6ONLY %d, want %d", got, tt.wantV6Only)
			}
		})
	}
}

func TestBindOptions(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		check func(t *testing.T, fd int)
	}{
		{"defaults", Options{}, func(t *testing.T, fd int) {
			if got := sockopt(t, fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT); got != 0 {
				t.Errorf("got TCP_DEFER_ACCEPT %d, want 0", got)
			}
			if got := sockopt(t, fd, unix.IPPROTO_TCP, unix.TCP_FASTOPEN); got != 0 {
				t.Errorf("got TCP_FASTOPEN %d, want 0", got)
			}
		}},
		{"defer accept", Options{DeferAccept: 1500 * time.Millisecond}, func(t *testing.T, fd int) {
			// The kernel stores retransmits, not seconds: only check it is on.
			if got := sockopt(t, fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT); got == 0 {
				t.Errorf("got TCP_DEFER_ACCEPT 0, want it on")
			}
		}},
		{"fast open", Options{FastOpen: 16}, func(t *testing.T, fd int) {
			if got := sockopt(t, fd, unix.IPPROTO_TCP, unix.TCP_FASTOPEN); got != 16 {
				t.Errorf("got TCP_FASTOPEN %d, want 16", got)
			}
		}},
		{"bind to device", Options{BindToDevice: "lo"}, func(t *testing.T, fd int) {
			got, err := unix.GetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE)
			if err != nil || got != "lo" {
				t.Errorf("got SO_BINDTODEVICE %q, %v; want %q", got, err, "lo")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			specs, _ := Specs([]string{"127.0.0.1:0"})
			set, err := Bind(specs, 2, tt.opts)
			if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOPROTOOPT) {
				t.Skipf("this kernel or user cannot set it: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer set.Close()
			for slot := range 2 {
				tt.check(t, set.Listeners[0].FD(slot))
			}
		})
	}
}

func TestBindToUnknownDevice(t *testing.T) {
	specs, _ := Specs([]string{"web=127.0.0.1:0"})
	set, err := Bind(specs, 1, Options{BindToDevice: "nosuchdev0"})
	if err == nil {
		set.Close()
		t.Fatal("got no error, want one about SO_BINDTODEVICE")
	}
	if errors.Is(err, unix.EPERM) {
		t.Skipf("this user cannot set SO_BINDTODEVICE: %v", err)
	}
	if want := `listener web: setsockopt SO_BINDTODEVICE "nosuchdev0"`; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got error %q, want it to start with %q", err, want)
	}
}

func TestBindUnix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.sock")
	set := bind(t, 3, Options{}, "sock=unix://"+path)
	sock := set.Listeners[0]
	if sock.Shards() != 1 {
		t.Errorf("got %d shards, want 1: unix sockets are always shared", sock.Shards())
	}
	if sock.Bound != "unix://"+path {
		t.Errorf("got Bound %q, want %q", sock.Bound, "unix://"+path)
	}
	dialAndAccept(t, "unix", path, []int{sock.FD(0)})
	if err := set.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Close: got %v, want the socket file removed", err)
	}
}

func TestBindUnixReplacesStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.sock")
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close() // leaves a socket file that nothing answers on
	set := bind(t, 1, Options{}, "unix://"+path)
	dialAndAccept(t, "unix", path, []int{set.Listeners[0].FD(0)})
}

func TestBindUnixRefusesLiveSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.sock")
	live, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	specs, _ := Specs([]string{"sock=unix://" + path})
	set, err := Bind(specs, 1, Options{})
	if err == nil {
		set.Close()
		t.Fatal("got no error, want EADDRINUSE")
	}
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), path) {
		t.Errorf("got error %q, want EADDRINUSE naming %s", err, path)
	}
	// The live socket still works: it holds the probe's connection, then ours.
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("the live socket stopped answering: %v", err)
	}
	c.Close()
	live.(*net.UnixListener).SetDeadline(time.Now().Add(5 * time.Second))
	for range 2 {
		c, err := live.Accept()
		if err != nil {
			t.Fatalf("the live socket stopped accepting: %v", err)
		}
		c.Close()
	}
}

func TestBindUnixRefusesOtherFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.sock")
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	specs, _ := Specs([]string{"unix://" + path})
	set, err := Bind(specs, 1, Options{})
	if err == nil {
		set.Close()
		t.Fatal("got no error, want one about the file")
	}
	if want := "bind unix://" + path + ": file exists and is not a socket"; !strings.Contains(err.Error(), want) {
		t.Errorf("got error %q, want it to contain %q", err, want)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "keep me" {
		t.Errorf("got file content %q, %v; want it untouched", b, err)
	}
}

func TestCloseLeavesAReplacedSocketFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.sock")
	set := bind(t, 1, Options{}, "unix://"+path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	other, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := set.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("after Close: got %v, want the other socket's file kept", err)
	}
}

func TestSomaxconn(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		t.Skip(err)
	}
	want, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if got := Somaxconn(); got != want {
		t.Errorf("Somaxconn() = %d, want %d", got, want)
	}
}
