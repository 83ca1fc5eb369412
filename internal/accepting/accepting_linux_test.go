package accepting

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// As a child, the test binary holds the listener it inherits as fd 3 and
// waits on it in the way its argument names, after saying "waiting".
func TestMain(m *testing.M) {
	if how := os.Getenv("ACCEPTING_CHILD"); how != "" {
		child(how)
		return
	}
	os.Exit(m.Run())
}

func child(how string) {
	const fd = 3
	os.Stdout.WriteString("waiting\n")
	switch how {
	case "epoll": // Go's poller: the socket in an epoll set
		l, err := net.FileListener(os.NewFile(fd, "listener"))
		if err == nil {
			l.Accept()
		}
	case "epoll-paused": // in an epoll set, but for no event
		ep, _ := unix.EpollCreate1(0)
		unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: 0})
		unix.EpollWait(ep, make([]unix.EpollEvent, 1), -1)
	case "accept":
		unix.Accept(fd)
	case "poll":
		unix.Poll([]unix.PollFd{{Fd: 0, Events: unix.POLLIN}, {Fd: fd, Events: unix.POLLIN}}, -1)
	case "select":
		var set unix.FdSet
		set.Set(fd)
		unix.Select(fd+1, &set, nil, nil, nil)
	case "read": // holds the socket, waits on something else
		unix.Read(0, make([]byte, 1))
	}
}

// listener binds a loopback listener and says its socket's inode. It is
// bound by hand: one of Go's would be in the test's own epoll set.
func listener(t *testing.T) (*os.File, Sockets) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "listener")
	t.Cleanup(func() { f.Close() })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 8); err != nil {
		t.Fatal(err)
	}
	socks, err := Inodes([]int{fd})
	if err != nil {
		t.Fatal(err)
	}
	return f, socks
}

// start runs a child that waits on f as how says, once it said so.
func start(t *testing.T, how string, f *os.File) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "ACCEPTING_CHILD="+how)
	cmd.ExtraFiles = []*os.File{f}
	stdin, err := cmd.StdinPipe() // "read" blocks on it
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "waiting\n" {
		t.Fatalf("child %s said %q", how, line)
	}
	return cmd
}

// inCall waits until some thread of pid is blocked in one of the calls.
func inCall(t *testing.T, pid int, calls ...int) {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		tasks, _ := os.ReadDir(dir)
		for _, task := range tasks {
			b, _ := os.ReadFile(dir + "/" + task.Name() + "/syscall")
			if n, _, ok := parseSyscall(string(b)); ok && slices.Contains(calls, n) {
				return
			}
		}
	}
	t.Fatalf("pid %d never blocked in calls %v", pid, calls)
}

func TestSeek(t *testing.T) {
	for _, how := range []string{"epoll", "accept", "poll", "select"} {
		t.Run(how, func(t *testing.T) {
			f, socks := listener(t)
			cmd := start(t, how, f)
			var seen Sighting
			var ok bool
			for deadline := time.Now().Add(10 * time.Second); !ok && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				var err error
				if seen, ok, err = Seek([]int{os.Getpid(), cmd.Process.Pid}, socks); err != nil {
					t.Fatal(err)
				}
			}
			if !ok || seen.PID != cmd.Process.Pid || seen.How != how {
				t.Errorf("seen %+v (%v), want pid %d by %s", seen, ok, cmd.Process.Pid, how)
			}
		})
	}
}

// A process that holds the socket but waits on something else, or has it
// in an epoll set for no event, is not seen; nor is the test itself, which
// holds it too.
func TestSeekPassesOver(t *testing.T) {
	f, socks := listener(t)
	reading := start(t, "read", f)
	inCall(t, reading.Process.Pid, unix.SYS_READ)
	paused := start(t, "epoll-paused", f)
	inCall(t, paused.Process.Pid, unix.SYS_EPOLL_PWAIT) // x/sys waits in epoll_pwait
	gone := exec.Command("true")
	gone.Run()
	pids := []int{os.Getpid(), reading.Process.Pid, paused.Process.Pid, gone.Process.Pid}
	if seen, ok, err := Seek(pids, socks); ok || err != nil {
		t.Errorf("seen %+v, %v", seen, err)
	}
}

func TestParseSyscall(t *testing.T) {
	nr, args, ok := parseSyscall("288 0x3 0xc000 0xc0004 0x80800 0x0 0x0 0x7ffd 0x4a1b\n")
	if !ok || nr != 288 || args[0] != 3 || args[3] != 0x80800 {
		t.Errorf("parsed %d %x %v", nr, args, ok)
	}
	for _, s := range []string{"running\n", "-1 0x7ffd 0x4a1b\n", ""} {
		if _, _, ok := parseSyscall(s); ok {
			t.Errorf("%q parsed as a call", s)
		}
	}
}

func TestEpollLine(t *testing.T) {
	socks := Sockets{0x6f2a: true}
	for line, want := range map[string]bool{
		"tfd:        5 events:       19 data:                5  pos:0 ino:6f2a sdev:8": true,
		"tfd:        5 events:        4 data:                5  pos:0 ino:6f2a sdev:8": false, // EPOLLOUT alone
		"tfd:        5 events:       19 data:                5  pos:0 ino:6f2b sdev:8": false,
		"tfd:        5 events:       19 data:                5":                        false, // before Linux 3.8: no inode
	} {
		if got := epollWaitsOn(line, socks); got != want {
			t.Errorf("%q: %v, want %v", strings.TrimSpace(line), got, want)
		}
	}
}
