package worker

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// With a limit of 2 and 10 slow requests at once, never more than 2 are in
// the handler; raising the limit to 10 while they wait lets them all in.
func TestLimitCapsAndRaises(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := Limit(l, 2)
	var inside, most atomic.Int64
	entered := make(chan struct{}, 10)
	release := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inside.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		entered <- struct{}{}
		<-release
		inside.Add(-1)
	})}
	go srv.Serve(lim)
	defer srv.Close()

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get("http://" + l.Addr().String())
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
		}()
	}
	for range 2 {
		<-entered
	}
	// The other eight wait in the kernel's queue: Accept blocks at the cap.
	waitFor(t, "two connections in use", func() bool { return lim.InUse() == 2 })
	if m := most.Load(); m != 2 {
		t.Fatalf("%d requests in the handler at once with a limit of 2", m)
	}
	if got := lim.Free(); got != 0 {
		t.Errorf("Free() = %d at the cap, want 0", got)
	}
	lim.SetLimit(10)
	for range 8 {
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d in the handler after raising the limit to 10, want 10", inside.Load())
		}
	}
	if n := inside.Load(); n != 10 {
		t.Errorf("%d in the handler, want 10", n)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("request: %v", err)
	}
	if m := most.Load(); m != 10 {
		t.Errorf("at most %d at once, want 10 after the raise", m)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
