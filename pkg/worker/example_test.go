package worker_test

import (
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/shardinit/shardinit/pkg/worker"
)

// A whole worker: serve on the sockets shardinit passed, report ready,
// drain on SIGTERM.
func ExampleServe() {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	})}
	if err := worker.Serve(srv, 10*time.Second); err != nil {
		log.Fatal(err)
	}
}

// The listeners alone, for a server that is not net/http.
func ExampleInherited() {
	listeners, err := worker.Inherited()
	if err != nil {
		log.Fatal(err) // not started by shardinit or systemd
	}
	for _, l := range listeners {
		fmt.Println(l.Name, l.Addr())
	}
}

// Cap simultaneous connections, and change the cap while serving; the
// connections above it wait in the kernel's queue.
func ExampleLimit() {
	inherited, err := worker.Inherited()
	if err != nil {
		log.Fatal(err)
	}
	limited := worker.Limit(inherited[0].Listener, 100)
	go http.Serve(limited, nil)
	limited.SetLimit(500) // later, e.g. once caches are warm
	fmt.Println("free slots:", limited.Free())
}

// Readiness, status and the watchdog, for --ready-on notify and --watchdog.
func ExampleReady() {
	worker.StatusLine("loading the model")
	// … load it …
	worker.Ready()
	if every, _ := worker.WatchdogInterval(); every > 0 {
		go func() {
			for range time.Tick(every) {
				worker.Watchdog()
			}
		}()
	}
}
