package testworker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"
)

// plainModes are servers written as most Go servers in Kubernetes are,
// without shardinit's SDK.
var plainModes = map[string]func(args []string) int{
	// go-systemd: go-systemd's activation.Listeners() and daemon.SdNotify
	// (READY=1 once serving), and on SIGTERM http.Server.Shutdown alone,
	// which returns without answering a request that a connection
	// accepted after it began would carry.
	"go-systemd": func([]string) int { return goSystemd() },
}

func goSystemd() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ls, err := activation.Listeners()
	if err == nil && len(ls) == 0 {
		err = errors.New("activation.Listeners returned none")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "testworker: %v\n", err)
		return 1
	}
	slot := os.Getenv("SHARDINIT_SLOT")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %d\n", slot, os.Getpid())
	})}
	var served sync.WaitGroup
	for _, l := range ls {
		served.Go(func() { serveUntilClosed(srv, l) })
	}
	daemon.SdNotify(false, daemon.SdNotifyReady)
	<-ctx.Done()
	daemon.SdNotify(false, daemon.SdNotifyStopping)
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	served.Wait()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testworker: shutdown: %v\n", err)
		return 1
	}
	return 0
}

func serveUntilClosed(srv *http.Server, l net.Listener) {
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "testworker: serve: %v\n", err)
	}
}
