package testworker

import (
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/shardinit/shardinit/internal/gosystemd"
)

// plainModes are servers written as most Go servers in Kubernetes are,
// without shardinit's SDK.
var plainModes = map[string]func(args []string) int{
	// go-systemd: internal/gosystemd, which ends with
	// http.Server.Shutdown alone.
	"go-systemd": func([]string) int { return goSystemd() },
}

func goSystemd() int {
	slot := os.Getenv("SHARDINIT_SLOT")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %d\n", slot, os.Getpid())
	})}
	if err := gosystemd.Serve(srv, 5*time.Second); err != nil {
		fmt.Fprintf(os.Stderr, "testworker: %v\n", err)
		return 1
	}
	return 0
}
