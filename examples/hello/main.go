// Command hello is shardinit's demo worker: an HTTP server that takes its
// listeners through the systemd protocol and answers with its PID and slot.
//
//	shardinit --listen http=:8080 -- hello
//	curl localhost:8080   →   hello from worker 1 of 2 (pid 42)
//
// On SIGTERM (shardinit's default stop signal) it stops accepting, lets the
// requests in flight finish, and exits 0.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/shardinit/shardinit/pkg/listen"
)

func main() {
	listeners, err := listen.Inherited()
	if err != nil {
		log.Fatalf("hello: %v", err)
	}
	slot, workers := os.Getenv("SHARDINIT_WORKER"), os.Getenv("SHARDINIT_WORKERS")
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from worker %s of %s (pid %d)\n", slot, workers, os.Getpid())
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	var wg sync.WaitGroup
	for _, l := range listeners {
		wg.Go(func() {
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				log.Printf("hello: serve %s: %v", l.Name, err)
			}
		})
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)
	wg.Wait()
}
