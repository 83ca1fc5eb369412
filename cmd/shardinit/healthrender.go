package main

import (
	"bytes"
	"maps"
	"net/http"
)

// renderLimited builds h's answers into memory while holding one of
// tokens, and sends them after giving it back. Building /status and
// /metrics reads /proc and the sockets' queues: blocking system calls,
// each of which may hold an OS thread, and shardinit must never need a new
// one after start-up (a pod's pids limit can make that fail, and the Go
// runtime dies of it). With the tokens, at most cap(tokens) goroutines of
// the health server are in such a call at once; the others wait on the
// channel, which holds no thread. Sending is left out because a client that
// reads slowly would keep the token.
func renderLimited(h http.Handler, tokens chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case tokens <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		buf := &bufferedResponse{header: http.Header{}, code: http.StatusOK}
		h.ServeHTTP(buf, r)
		<-tokens
		maps.Copy(w.Header(), buf.header)
		w.WriteHeader(buf.code)
		w.Write(buf.body.Bytes())
	})
}

// bufferedResponse is an http.ResponseWriter into memory.
type bufferedResponse struct {
	header http.Header
	code   int
	wrote  bool
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if !b.wrote {
		b.code, b.wrote = code, true
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}
