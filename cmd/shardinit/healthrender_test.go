package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// With 2 tokens and 10 requests at once, at most 2 answers are built at
// once; all 10 are answered in full.
func TestRenderLimitedCapsConcurrency(t *testing.T) {
	var arrived, inside, most atomic.Int64
	entered, release := make(chan struct{}, 10), make(chan struct{})
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inside.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		entered <- struct{}{}
		<-release
		inside.Add(-1)
		w.Header().Set("X-Built", "yes")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, "answer")
	})
	limited := renderLimited(inner, make(chan struct{}, 2))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		limited.ServeHTTP(w, r)
	}))
	defer srv.Close()

	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			resp, err := client.Get(srv.URL)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusAccepted || string(body) != "answer" || resp.Header.Get("X-Built") != "yes" {
				errs <- fmt.Errorf("got %d %q %v, want 202 \"answer\" with X-Built", resp.StatusCode, body, resp.Header)
			}
		})
	}
	<-entered
	<-entered
	eventually(t, 10*time.Second, "all 10 requests in the server", func() bool { return arrived.Load() == 10 })
	if n := inside.Load(); n != 2 {
		t.Errorf("%d answers built at once with 2 tokens", n)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if m := most.Load(); m > 2 {
		t.Errorf("%d answers built at once with 2 tokens, want at most 2", m)
	}
}

// A client that does not read its (large) answer holds no token: with one
// token, the next request is still answered.
func TestRenderLimitedSlowReaderHoldsNoToken(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 16<<20)
	limited := renderLimited(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Write(big)
			return
		}
		fmt.Fprint(w, "small")
	}), make(chan struct{}, 1))
	srv := httptest.NewServer(limited)
	defer srv.Close()

	slow, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	head := make([]byte, 12)
	if _, err := io.ReadFull(slow, head); err != nil { // the answer is on its way: built, token back
		t.Fatal(err)
	}
	if body, err := get(srv.URL + "/small"); err != nil || body != "small" {
		t.Fatalf("GET /small while /big is not read: %q %v", body, err)
	}
}
