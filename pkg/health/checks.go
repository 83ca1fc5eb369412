package health

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shardinit/shardinit/pkg/spawn"
)

// aliveTimeout bounds how long a probe waits for the supervisor's loop.
const aliveTimeout = time.Second

// check is one named condition of a probe. st is nil until the
// supervisor's first report.
type check struct {
	name string
	run  func(ctx context.Context, st *spawn.Snapshot) error
}

var errNoStatus = errors.New("the supervisor has not reported yet")

// statusCheck is a check on the supervisor's last report, which fails
// while there is none.
func statusCheck(name string, f func(spawn.Snapshot) error) check {
	return check{name, func(_ context.Context, st *spawn.Snapshot) error {
		if st == nil {
			return errNoStatus
		}
		return f(*st)
	}}
}

func (h *Health) supervisorCheck() check {
	return check{"supervisor", func(ctx context.Context, _ *spawn.Snapshot) error {
		if h.opts.Pool == nil {
			return nil
		}
		ctx, cancel := context.WithTimeout(ctx, aliveTimeout)
		defer cancel()
		return h.opts.Pool.Alive(ctx)
	}}
}

func (h *Health) livezChecks() []check {
	return []check{
		h.supervisorCheck(),
		statusCheck("workers", func(st spawn.Snapshot) error {
			if stuck := st.Stuck(); len(stuck) > 0 {
				return fmt.Errorf("stuck worker in slot %s: its queue does not drain", joinInts(stuck))
			}
			return nil
		}),
	}
}

func (h *Health) readyzChecks() []check {
	return []check{
		h.supervisorCheck(),
		statusCheck("draining", func(st spawn.Snapshot) error {
			if st.Phase != spawn.Running {
				return fmt.Errorf("%s", st.Phase)
			}
			return nil
		}),
		statusCheck("workers", func(st spawn.Snapshot) error {
			if n := st.ReadySlots(); n < st.MinReady {
				return fmt.Errorf("%d of %d slots ready, %d needed", n, len(st.Slots), st.MinReady)
			}
			return nil
		}),
	}
}

// serveChecks answers 200 "ok" when every check passes and 503 with the
// list otherwise; ?verbose lists the checks either way.
func (h *Health) serveChecks(probe string, checks []check) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var last *spawn.Snapshot
		if st, known := h.snapshot(); known {
			last = &st
		}
		var out strings.Builder
		failed := false
		for _, c := range checks {
			if err := c.run(r.Context(), last); err != nil {
				failed = true
				fmt.Fprintf(&out, "[-]%s failed: %v\n", c.name, err)
			} else {
				fmt.Fprintf(&out, "[+]%s ok\n", c.name)
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, verbose := r.URL.Query()["verbose"]
		switch {
		case failed:
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "%s%s check failed\n", out.String(), probe)
		case verbose:
			fmt.Fprintf(w, "%s%s check passed\n", out.String(), probe)
		default:
			fmt.Fprintln(w, "ok")
		}
	}
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}
