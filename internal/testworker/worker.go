// Package testworker holds the workers that shardinit's tests run: a test
// binary calls Main from its TestMain when it is started as
// `<test binary> worker MODE [ARGS...]`, so every test worker is a real
// process that received its sockets the way any other worker would.
//
// Modes:
//
//	http            serve the inherited listeners (worker.Inherited); exit 0 on TERM or INT
//	systemd         the same, with go-systemd's activation.Listeners()
//	notify DIR      serve; send READY=1 (go-systemd's daemon.SdNotify) once DIR/ready-<pid> exists
//	watchdog        serve, send READY=1, and WATCHDOG=1 every WATCHDOG_USEC/4 until SIGUSR2
//	sdk             serve "/" with worker.Serve alone (the worker SDK: READY=1, drain)
//	ignore-term     serve, but ignore SIGTERM
//	sleep           serve nothing, handle no signal (dies of whatever comes)
//	exit CODE       exit at once with CODE
//	orphans DIR     once per DIR: start 100 children, leave them, exit 3; later: serve
//	orphan          block until the parent dies (Pdeathsig set by the spawner)
//	orphan-storm    serve, and leave orphans that exit at once, thousands a second
//	fork-bomb       serve; slot 0 starts children on SIGUSR2 until the kernel refuses one (EAGAIN)
//
// and the moreModes (isolation.go), cleanModes (clean.go) and plainModes
// (plain.go).
//
// Every HTTP worker answers "/" with "SLOT PID\n" and "/info" with Info.
package testworker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/shardinit/shardinit/pkg/worker"
)

// Info is what a worker reports about itself at /info.
type Info struct {
	PID, PPID, PGID int
	Env             map[string]string
	// SigIgn and SigBlk are the hex masks from /proc/self/status as the
	// worker found them at start.
	SigIgn, SigBlk string
	// USR1 and WINCH count the SIGUSR1 and SIGWINCH signals received.
	USR1, WINCH int64
	// Pings counts the WATCHDOG=1 messages sent.
	Pings int64
}

// Main runs the worker mode in args and returns its exit code.
func Main(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "testworker: no mode")
		return 2
	}
	mode, rest := args[0], args[1:]
	switch mode {
	case "http":
		return serve(inherited, nil, syscall.SIGTERM, syscall.SIGINT)
	case "systemd":
		return serve(systemdListeners, nil, syscall.SIGTERM, syscall.SIGINT)
	case "notify":
		return serve(inherited, readyOnFile(rest[0]), syscall.SIGTERM, syscall.SIGINT)
	case "watchdog":
		return serve(inherited, pingUntilUSR2, syscall.SIGTERM, syscall.SIGINT)
	case "grow":
		return serve(inherited, grow, syscall.SIGTERM, syscall.SIGINT)
	case "sdk":
		return sdkServe()
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		return serve(inherited, nil, syscall.SIGINT)
	case "sleep":
		idle()
	case "exit":
		code, _ := strconv.Atoi(rest[0])
		return code
	case "orphans":
		return orphans(rest[0])
	case "orphan":
		idle()
	case "orphan-storm":
		return serve(inherited, orphanStorm, syscall.SIGTERM, syscall.SIGINT)
	case "fork-bomb":
		return forkBomb()
	}
	for _, modes := range []map[string]func([]string) int{moreModes, cleanModes, plainModes} {
		if run, ok := modes[mode]; ok {
			return run(rest)
		}
	}
	fmt.Fprintf(os.Stderr, "testworker: unknown mode %q\n", mode)
	return 2
}

func inherited() ([]net.Listener, error) {
	named, err := worker.Inherited()
	var out []net.Listener
	for _, l := range named {
		out = append(out, l.Listener)
	}
	return out, err
}

func systemdListeners() ([]net.Listener, error) {
	ls, err := activation.Listeners()
	if err == nil && len(ls) == 0 {
		err = errors.New("activation.Listeners returned none")
	}
	return ls, err
}

// serve answers HTTP on every inherited listener until one of stopOn; once
// it listens, it runs notify (if any) in the background with the SIGUSR2s
// it receives (caught from the start: one must never kill it).
// grown is what grow holds on to.
var grown [][]byte

// grow leaks: 1 MiB more resident memory every 50 ms, for
// --max-worker-memory to catch.
func grow(<-chan os.Signal, *atomic.Int64) {
	for range time.Tick(50 * time.Millisecond) {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1 // touched: resident, not only reserved
		}
		grown = append(grown, b)
	}
}

func serve(listeners func() ([]net.Listener, error), notify func(usr2 <-chan os.Signal, pings *atomic.Int64), stopOn ...os.Signal) int {
	info := snapshot()
	usr2 := make(chan os.Signal, 1)
	signal.Notify(usr2, syscall.SIGUSR2)
	// Before serving: a worker that answers must also stop gracefully.
	ctx, stop := signal.NotifyContext(context.Background(), stopOn...)
	defer stop()
	ls, err := listeners()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testworker: %v\n", err)
		return 1
	}
	var usr1, winch atomic.Int64
	count(&usr1, syscall.SIGUSR1)
	count(&winch, syscall.SIGWINCH)
	slot := os.Getenv("SHARDINIT_SLOT")
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %d\n", slot, os.Getpid())
	})
	var pings atomic.Int64
	mux.HandleFunc("/info", func(w http.ResponseWriter, r *http.Request) {
		i := info
		i.USR1, i.WINCH, i.Pings = usr1.Load(), winch.Load(), pings.Load()
		json.NewEncoder(w).Encode(i)
	})
	if moreRoutes != nil {
		moreRoutes(mux)
	}
	if notify != nil {
		go notify(usr2, &pings)
	}
	if err := worker.ServeHTTP(ctx, &http.Server{Handler: mux}, ls, 3*time.Second); err != nil {
		fmt.Fprintf(os.Stderr, "testworker: %v\n", err)
		return 1
	}
	return 0
}

// moreRoutes, when set by a mode, adds to the routes serve answers.
var moreRoutes func(*http.ServeMux)

// count adds one to n for every sig received.
func count(n *atomic.Int64, sig os.Signal) {
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, sig)
	go func() {
		for range ch {
			n.Add(1)
		}
	}()
}

// idle blocks until a signal ends the process. (A bare select{} would trip
// the runtime's deadlock detector.)
func idle() {
	for {
		time.Sleep(time.Hour)
	}
}

// sdkServe is a worker written the way docs/sockets.md tells users to.
func sdkServe() int {
	slot := os.Getenv("SHARDINIT_SLOT")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %d\n", slot, os.Getpid())
	})}
	if err := worker.Serve(srv, 3*time.Second); err != nil {
		fmt.Fprintf(os.Stderr, "testworker: %v\n", err)
		return 1
	}
	return 0
}
