//go:build unix

package worker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var listenVars = []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"}

// childFlag makes the test binary run inheritedChild instead of the tests.
const childFlag = "LISTEN_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childFlag) == "1" {
		os.Exit(inheritedChild())
	}
	os.Exit(m.Run())
}

// inheritedChild plays a worker. shardinit's exec stage sets LISTEN_PID to
// the worker's pid; here the child sets it itself. It prints what it finds,
// a line per fact, for TestInheritedInAChild to compare.
func inheritedChild() int {
	os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	leakedBefore := leakedFDs() // 3, 4 and whatever the test itself inherited
	ls, err := Inherited()
	if err != nil {
		fmt.Println("Inherited:", err)
		return 1
	}
	for _, v := range listenVars {
		if _, ok := os.LookupEnv(v); ok {
			fmt.Println(v, "is still set")
		}
	}
	for _, fd := range leakedFDs() {
		if fd <= 4 || !slices.Contains(leakedBefore, fd) {
			fmt.Printf("fd %d is not close-on-exec\n", fd)
		}
	}
	for _, l := range ls {
		l.Listener.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		c, err := l.Accept()
		if err != nil {
			fmt.Println(l.Name, "accept:", err)
			continue
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		fmt.Printf("%s accepted %q\n", l.Name, line)
		c.Close()
	}
	return 0
}

// leakedFDs lists the fds from 3 up that a child process would inherit.
func leakedFDs() []int {
	entries, _ := os.ReadDir("/proc/self/fd")
	var leaked []int
	for _, e := range entries {
		fd, _ := strconv.Atoi(e.Name())
		flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
		if fd >= 3 && errno == 0 && flags&syscall.FD_CLOEXEC == 0 {
			leaked = append(leaked, fd)
		}
	}
	return leaked
}

func TestInheritedInAChild(t *testing.T) {
	var files []*os.File
	var conns []net.Conn
	for _, name := range []string{"a", "b"} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		f, err := l.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
		// The connection waits in the accept queue until the child takes it.
		c, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "hello %s\n", name)
		conns = append(conns, c)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.ExtraFiles = files // fds 3 and 4
	cmd.Env = append(withoutListenVars(os.Environ()),
		childFlag+"=1", "LISTEN_FDS=2", "LISTEN_FDNAMES=a:b")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	want := "a accepted \"hello a\\n\"\nb accepted \"hello b\\n\"\n"
	if string(out) != want {
		t.Errorf("child printed:\n%s\nwant:\n%s", out, want)
	}
}

func withoutListenVars(env []string) []string {
	return slices.DeleteFunc(env, func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(listenVars, name) || name == childFlag
	})
}

// These cases never reach the fds: Inherited gives up on the environment.
func TestInheritedRefusesEnvironment(t *testing.T) {
	pid, other := strconv.Itoa(os.Getpid()), strconv.Itoa(os.Getppid())
	tests := []struct {
		name    string
		env     map[string]string // "" leaves the variable unset
		wantErr string
	}{
		{"no LISTEN_FDS", map[string]string{"LISTEN_PID": pid}, ErrNoListeners.Error()},
		{"another process", map[string]string{"LISTEN_PID": other, "LISTEN_FDS": "2"},
			"LISTEN_PID=" + other + " is another process (this is " + pid + ")"},
		{"no LISTEN_PID", map[string]string{"LISTEN_FDS": "2"}, "LISTEN_PID= is another process"},
		{"zero fds", map[string]string{"LISTEN_PID": pid, "LISTEN_FDS": "0"}, `LISTEN_FDS="0" is not a positive number`},
		{"not a number", map[string]string{"LISTEN_PID": pid, "LISTEN_FDS": "two"}, `LISTEN_FDS="two" is not a positive number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, v := range listenVars {
				t.Setenv(v, tt.env[v])
				if tt.env[v] == "" {
					os.Unsetenv(v)
				}
			}
			t.Setenv("LISTEN_FDNAMES", "a:b")
			ls, err := Inherited()
			if err == nil {
				t.Fatalf("got %d listeners, want an error", len(ls))
			}
			if !errors.Is(err, ErrNoListeners) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %q, want ErrNoListeners containing %q", err, tt.wantErr)
			}
			for _, v := range listenVars {
				if val, ok := os.LookupEnv(v); ok {
					t.Errorf("%s=%q after Inherited, want it unset", v, val)
				}
			}
		})
	}
}

// listenEnv is what Inherited reads before it touches any fd.
func TestListenEnvNames(t *testing.T) {
	tests := []struct {
		fds, names string
		want       []string
	}{
		{"2", "a:b", []string{"a", "b"}},
		{"3", "a", []string{"a", "unknown", "unknown"}},
		{"2", "", []string{"unknown", "unknown"}},
		{"1", "a:b", []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.fds+" fds named "+tt.names, func(t *testing.T) {
			t.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
			t.Setenv("LISTEN_FDS", tt.fds)
			t.Setenv("LISTEN_FDNAMES", tt.names)
			n, names, err := listenEnv()
			if err != nil {
				t.Fatal(err)
			}
			if n != len(tt.want) || !slices.Equal(names, tt.want) {
				t.Errorf("got %d fds named %q, want %d named %q", n, names, len(tt.want), tt.want)
			}
		})
	}
}
