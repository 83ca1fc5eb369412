// Command hello is shardinit's demo worker: an HTTP server that takes its
// listeners through the systemd protocol and answers with its PID and slot.
//
//	shardinit --listen http=:8080 -- hello
//	curl localhost:8080   →   hello from worker 1 of 2 (pid 42)
//
// It is written against shardinit's worker SDK, worker.Serve: the
// inherited listeners, READY=1 for --ready-on notify, SHARDINIT_MAX_CONNS,
// and on SIGTERM or SIGINT a drain that fails no request (so that rolling
// restarts and scale-downs lose nothing), then exit 0.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/shardinit/shardinit/pkg/worker"
)

func main() {
	slot, slots := os.Getenv("SHARDINIT_SLOT"), os.Getenv("SHARDINIT_SLOTS")
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from worker %s of %s (pid %d)\n", slot, slots, os.Getpid())
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	if err := worker.Serve(srv, 5*time.Second); err != nil {
		log.Fatalf("hello: %v", err)
	}
}
