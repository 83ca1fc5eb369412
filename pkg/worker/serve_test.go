package worker

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// A keep-alive client that is between requests when the drain begins gets
// its next answer with Connection: close instead of a closed connection.
func TestServeHTTPDrainsKeepAlive(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })}
	go func() { done <- ServeHTTP(ctx, srv, []net.Listener{l}, 5*time.Second) }()

	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	get := func() *http.Response {
		t.Helper()
		fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request on the kept-alive connection: %v", err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get(); resp.Close {
		t.Fatalf("first answer closes the connection, want keep-alive")
	}
	stop() // the connection is idle now: plain Shutdown would close it
	waitRefused(t, l.Addr().String())
	if resp := get(); !resp.Close {
		t.Errorf("answer while draining keeps the connection, want Connection: close")
	}
	if err := <-done; err != nil {
		t.Errorf("ServeHTTP = %v, want nil", err)
	}
}

// waitRefused waits until addr refuses new connections: the drain began.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%s still accepts after the drain began", addr)
}

// With SHARDINIT_MAX_CONN_AGE, a keep-alive connection is asked to close
// once it is that old, and not before.
func TestServeHTTPEndsOldConnections(t *testing.T) {
	t.Setenv("SHARDINIT_MAX_CONN_AGE", "200ms")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })}
	go ServeHTTP(ctx, srv, []net.Listener{l}, 5*time.Second)

	dialed := time.Now()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	for deadline := dialed.Add(5 * time.Second); time.Now().Before(deadline); {
		fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request on the kept-alive connection: %v", err)
		}
		resp.Body.Close()
		if resp.Close {
			if age := time.Since(dialed); age < 200*time.Millisecond {
				t.Errorf("asked to close at %s, before the maximum age of 200ms", age)
			}
			return
		}
	}
	t.Fatal("the connection was never asked to close")
}

func TestMaxConnAgeFromEnv(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 0, "0": 0, "30s": 30 * time.Second, "5m": 5 * time.Minute, "1.5": 1500 * time.Millisecond} {
		t.Setenv("SHARDINIT_MAX_CONN_AGE", v)
		if got, err := MaxConnAgeFromEnv(); err != nil || got != want {
			t.Errorf("SHARDINIT_MAX_CONN_AGE=%q: %s, %v; want %s", v, got, err, want)
		}
	}
	for _, v := range []string{"-1s", "-3", "soon", "1e99"} {
		t.Setenv("SHARDINIT_MAX_CONN_AGE", v)
		if got, err := MaxConnAgeFromEnv(); err == nil {
			t.Errorf("SHARDINIT_MAX_CONN_AGE=%q: %s, want an error", v, got)
		}
	}
}
