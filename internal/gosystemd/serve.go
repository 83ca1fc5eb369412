// Package gosystemd serves HTTP the way most Go servers in Kubernetes are
// written, without shardinit's SDK: the sockets from go-systemd's
// activation.Listeners, READY=1 from daemon.SdNotify once serving, and on
// SIGTERM or SIGINT http.Server.Shutdown alone. Shutdown returns without
// answering a request that a connection accepted after it began would
// carry, which is what shardinit's rolls must never hand such a server.
// The tests' and the benchmark's workers share it, so that both measure
// the same server.
package gosystemd

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

// Serve serves srv on the inherited sockets until SIGTERM or SIGINT, then
// shuts it down within grace.
func Serve(srv *http.Server, grace time.Duration) error {
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
	errs := make(chan error, len(ls))
	for _, l := range ls {
		served.Go(func() {
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				errs <- err
			}
		})
	}
	daemon.SdNotify(false, daemon.SdNotifyReady)
	<-ctx.Done()
	daemon.SdNotify(false, daemon.SdNotifyStopping)
	shutdown, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err = srv.Shutdown(shutdown)
	served.Wait()
	close(errs)
	return errors.Join(err, <-errs)
}
