package testworker

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// moreModes are the modes that try shardinit's isolation of one worker
// from another, and of a worker from what it leaves behind:
//
//	send-ready         send READY=1 to NOTIFY_SOCKET and exit at once (a short-lived sender)
//	forge              serve; GET /forge?pgid=P&sock=S runs forge-child and answers its report
//	forge-child P S    drop to uid 65534, try setpgid(0, P), send STOPPING=1 and WATCHDOG=trigger to socket S, stay
//	late-usr1 DIR      leave SIGUSR1 to its default action until DIR/ready-<pid> exists, then serve and send READY=1
//	leave-child        serve; GET /crash starts hold-accept on the listener and exits 1
//	hold-accept        accept on fd 3 forever, never answer, ignore SIGTERM
//	read-tty           read a line from stdin: exit 42 for "hello", 1 otherwise
var moreModes = map[string]func(args []string) int{
	"send-ready":  func([]string) int { return sendTo(os.Getenv("NOTIFY_SOCKET"), "READY=1") },
	"forge":       forge,
	"forge-child": forgeChild,
	"late-usr1":   lateUSR1,
	"leave-child": leaveChild,
	"hold-accept": holdAccept,
	"read-tty":    readTTY,
}

// sendTo sends one sd_notify datagram to addr ("@name" is abstract).
func sendTo(addr, text string) int {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		fmt.Fprintf(os.Stderr, "testworker: notify %s: %v\n", addr, err)
		return 1
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(text)); err != nil {
		fmt.Fprintf(os.Stderr, "testworker: notify %s: %v\n", addr, err)
		return 1
	}
	return 0
}

func forge([]string) int {
	return serveWith(func(mux *http.ServeMux) {
		mux.HandleFunc("/forge", func(w http.ResponseWriter, r *http.Request) {
			if r.FormValue("victim") == strconv.Itoa(os.Getpid()) {
				fmt.Fprintln(w, "self")
				return
			}
			cmd := exec.Command(os.Args[0], "worker", "forge-child", r.FormValue("pgid"), r.FormValue("sock"))
			out, err := cmd.StdoutPipe()
			if err == nil {
				err = cmd.Start()
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			// The forger stays alive, as a process that shardinit can
			// check, until the worker stops.
			sc := bufio.NewScanner(out)
			for sc.Scan() && sc.Text() != "sent" {
				fmt.Fprintln(w, sc.Text())
			}
		})
	})
}

// serveWith serves like mode http, with more routes.
func serveWith(add func(*http.ServeMux)) int {
	moreRoutes = add
	return serve(inherited, nil, syscall.SIGTERM, syscall.SIGINT)
}

// forgeChild is a process of one worker that tries to pass for another:
// it joins the other's process group if it can, and writes to the other's
// notify socket.
func forgeChild(args []string) int {
	// After exec, so that the binary need not be runnable by 65534.
	if err := syscall.Setgid(65534); err != nil {
		fmt.Printf("setgid: %v\n", err)
	}
	if err := syscall.Setuid(65534); err != nil {
		fmt.Printf("setuid: %v\n", err)
	}
	pgid, _ := strconv.Atoi(args[0])
	if err := unix.Setpgid(0, pgid); err != nil {
		fmt.Printf("setpgid: %v\n", err)
	} else {
		fmt.Printf("setpgid: joined %d\n", pgid)
	}
	for _, text := range []string{"STOPPING=1", "WATCHDOG=trigger"} {
		if code := sendTo(args[1], text); code != 0 {
			return code
		}
	}
	fmt.Println("sent")
	idle()
	return 0
}

// lateUSR1 is a program that installs its SIGUSR1 handler late, as a C
// server does: until then the signal has its default action, which kills.
// (The Go runtime catches every signal from the start and ignores a
// SIGUSR1 nobody asked for, so its handler is put aside meanwhile.)
func lateUSR1(args []string) int {
	var runtimes [4]uint64 // struct sigaction
	var dfl [4]uint64
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGUSR1), uintptr(unsafe.Pointer(&dfl)), uintptr(unsafe.Pointer(&runtimes)), 8, 0, 0)
	if err := waitForFile(args[0], ReadyFile(args[0], os.Getpid())); err != nil {
		fmt.Fprintf(os.Stderr, "testworker: %v\n", err)
		return 1
	}
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGUSR1), uintptr(unsafe.Pointer(&runtimes)), 0, 8, 0, 0)
	return serve(inherited, func(<-chan os.Signal, *atomic.Int64) { sdNotify("READY=1") }, syscall.SIGTERM, syscall.SIGINT)
}

func leaveChild([]string) int {
	return serveWith(func(mux *http.ServeMux) {
		mux.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
			cmd := exec.Command(os.Args[0], "worker", "hold-accept")
			cmd.ExtraFiles = []*os.File{os.NewFile(3, "shard")}
			if err := cmd.Start(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintf(w, "%d\n", cmd.Process.Pid)
			w.(http.Flusher).Flush()
			os.Exit(1)
		})
	})
}

// holdAccept is what a crashed worker's child may do with the socket it
// inherited: take connections and never answer them.
func holdAccept([]string) int {
	signal.Ignore(syscall.SIGTERM)
	var held []int
	// poll, not a blocking accept: fd 3 shares its O_NONBLOCK with every
	// other holder of the socket.
	fds := []unix.PollFd{{Fd: 3, Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
			return 1
		}
		if nfd, _, err := unix.Accept(3); err == nil {
			held = append(held, nfd)
		}
	}
}

func readTTY([]string) int {
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	if strings.TrimSpace(line) == "hello" {
		return 42
	}
	fmt.Fprintf(os.Stderr, "testworker: read %q from the terminal\n", line)
	return 1
}
