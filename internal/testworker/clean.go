package testworker

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
)

// cleanModes are the modes that look at what a worker receives from
// shardinit, and at what it hands back to a person's terminal:
//
//	status-text TEXT   serve; send STATUS=TEXT once listening (TEXT may hold terminal escapes)
//	fds                serve; GET /fds answers what each open fd of the worker is, one per line
var cleanModes = map[string]func(args []string) int{
	"status-text": statusText,
	"fds":         func([]string) int { return serveWith(listFDs) },
}

func statusText(args []string) int {
	send := func(<-chan os.Signal, *atomic.Int64) { sdNotify("STATUS=" + args[0]) }
	return serve(inherited, send, syscall.SIGTERM, syscall.SIGINT)
}

// listFDs answers "FD TARGET" for every fd in /proc/self/fd, as readlink
// shows it (a path, socket:[inode], pipe:[inode], …).
func listFDs(mux *http.ServeMux) {
	mux.HandleFunc("/fds", func(w http.ResponseWriter, r *http.Request) {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		for _, e := range entries {
			target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
			fmt.Fprintf(w, "%s %s\n", e.Name(), target)
		}
	})
}
