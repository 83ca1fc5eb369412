// Command cpu is the benchmark's Go worker: an HTTP server whose handler
// hashes -rounds times with SHA-256 before it answers (0 rounds: the same
// trivial answer as examples/hello). The one binary serves every Go case of
// bench/run.sh, so that only the way it is launched differs:
//
//	cpu -rounds 2000                       under shardinit: fds 3.. (LISTEN_FDS)
//	cpu -rounds 2000 -reuseport 127.0.0.1:8080   binds the port itself, SO_REUSEPORT
//	cpu -rounds 2000 -listen 127.0.0.1:8080      binds the port itself, plain
//	cpu -rounds 2000 -go-systemd                 under shardinit, as most Go servers are
//	                                             written: go-systemd's activation.Listeners
//	                                             and daemon.SdNotify, http.Server.Shutdown
//
// Every answer names the worker's PID ("… (pid 42)"), which the balance
// section counts. On SIGTERM or SIGINT it drains as examples/hello does
// (worker.ServeHTTP) and exits 0. When NOTIFY_SOCKET is set it says READY=1
// once it serves, in either mode.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/shardinit/shardinit/internal/gosystemd"
	"github.com/shardinit/shardinit/pkg/worker"
	"golang.org/x/sys/unix"
)

func main() {
	rounds := flag.Int("rounds", 0, "SHA-256 rounds per request (0: a hello answer)")
	reuseport := flag.String("reuseport", "", "bind this address itself with SO_REUSEPORT instead of taking LISTEN_FDS")
	plain := flag.String("listen", "", "bind this address itself (no SO_REUSEPORT) instead of taking LISTEN_FDS")
	grace := flag.Duration("grace", 5*time.Second, "drain time on SIGTERM")
	goSystemd := flag.Bool("go-systemd", false, "take the sockets with go-systemd and stop with http.Server.Shutdown alone")
	flag.Parse()

	slot, workers := os.Getenv("SHARDINIT_SLOT"), os.Getenv("SHARDINIT_SLOTS")
	if slot == "" {
		slot, workers = "0", "1"
	}
	pid := os.Getpid()
	n := *rounds
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n == 0 {
				fmt.Fprintf(w, "hello from worker %s of %s (pid %d)\n", slot, workers, pid)
				return
			}
			sum := sha256.Sum256([]byte(r.URL.Path))
			for i := 1; i < n; i++ {
				sum = sha256.Sum256(sum[:])
			}
			fmt.Fprintf(w, "cpu from worker %s of %s (pid %d) %s\n", slot, workers, pid, hex.EncodeToString(sum[:4]))
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}

	addr, reuse := *plain, false
	if *reuseport != "" {
		addr, reuse = *reuseport, true
	}
	if *goSystemd {
		if err := gosystemd.Serve(srv, *grace); err != nil {
			log.Fatalf("cpu: %v", err)
		}
		return
	}
	if addr == "" {
		if err := worker.Serve(srv, *grace); err != nil {
			log.Fatalf("cpu: %v", err)
		}
		return
	}
	lc := net.ListenConfig{}
	if reuse {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	l, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		log.Fatalf("cpu: %v", err)
	}
	// As worker.Serve does with an inherited socket (the connection limiter,
	// READY=1, STOPPING=1 and the drain): only the way the socket arrived
	// differs.
	if err := worker.ServeListeners(srv, []net.Listener{l}, *grace); err != nil {
		log.Fatalf("cpu: %v", err)
	}
}
