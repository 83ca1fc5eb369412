package main

import (
	"context"
	"errors"
	"net/http"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"
)

// serveGoSystemd serves srv the way a Go server written against
// go-systemd alone does: the inherited sockets, READY=1 once serving, and
// on SIGTERM http.Server.Shutdown, nothing more.
func serveGoSystemd(srv *http.Server, grace time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ls, err := activation.Listeners()
	if err == nil && len(ls) == 0 {
		err = errors.New("activation.Listeners returned none")
	}
	if err != nil {
		return err
	}
	var served sync.WaitGroup
	for _, l := range ls {
		served.Go(func() { srv.Serve(l) })
	}
	daemon.SdNotify(false, daemon.SdNotifyReady)
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err = srv.Shutdown(shutdown)
	served.Wait()
	return err
}
