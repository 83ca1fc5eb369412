// Command hello is shardinit's demo worker: an HTTP server that takes its
// listeners through the systemd protocol and answers with its PID and slot.
//
//	shardinit --listen http=:8080 -- hello
//	curl localhost:8080   →   hello from worker 1 of 2 (pid 42)
//
// On SIGTERM (shardinit's default stop signal) or SIGINT it stops
// accepting, finishes what it accepted, closes keep-alive connections
// after their next response, and exits 0: listen.ServeHTTP does all that,
// so that a rolling restart or a scale-down fails no request.
package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shardinit/shardinit/pkg/listen"
)

func main() {
	inherited, err := listen.Inherited()
	if err != nil {
		log.Fatalf("hello: %v", err)
	}
	listeners := make([]net.Listener, len(inherited))
	for i, l := range inherited {
		listeners[i] = l.Listener
	}
	slot, workers := os.Getenv("SHARDINIT_WORKER"), os.Getenv("SHARDINIT_WORKERS")
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from worker %s of %s (pid %d)\n", slot, workers, os.Getpid())
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := listen.ServeHTTP(ctx, srv, listeners, 5*time.Second); err != nil {
		log.Fatalf("hello: %v", err)
	}
}
