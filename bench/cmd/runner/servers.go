package main

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// server is one configuration under test, started and ready.
type server struct {
	name   string
	port   int
	health int // 0: none
	procs  []*proc
	notify *notifySocket
}

// launch starts a configuration on a port (its health server, if any, on
// port+1) and returns once it serves.
type launch struct {
	name string
	// env is added to the environment of the processes the launch starts
	// (shardinit passes its own on to its workers).
	env  []string
	boot func(ctx context.Context, port int, env []string) (*server, error)
}

func (l launch) start(ctx context.Context, port int) (*server, error) {
	return l.boot(ctx, port, l.env)
}

// withEnv is l with variables added to its processes' environment.
func withEnv(l launch, env ...string) launch {
	l.env = slices.Concat(l.env, env)
	return l
}

func (s *server) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// stop stops every process of the server at once (128 hand-launched
// workers need not wait for each other), each by its PID.
func (s *server) stop() {
	var wg sync.WaitGroup
	for _, p := range s.procs {
		wg.Go(func() {
			if left := p.stop(15 * time.Second); left > 0 {
				fmt.Printf("  (%s: killed %d leftover processes)\n", p.name, left)
			}
		})
	}
	wg.Wait()
	if s.notify != nil {
		s.notify.close()
	}
}

// logs are the last lines the server's processes wrote, for errors.
func (s *server) logs() string {
	var b strings.Builder
	for _, p := range s.procs {
		b.WriteString(lastLines(p.out.String(), 6))
	}
	return b.String()
}

func (s *server) alive() bool {
	for _, p := range s.procs {
		if p.exited() {
			return false
		}
	}
	return true
}

// ready waits until cond holds and the service answers 200, or fails
// (stopping what was started).
func (s *server) ready(ctx context.Context, timeout time.Duration, cond func() bool) (*server, error) {
	ok := waitUntil(ctx, timeout, 2*time.Millisecond, func() bool {
		return !s.alive() || cond()
	}) && s.alive() && waitUntil(ctx, 10*time.Second, 10*time.Millisecond, func() bool {
		return httpStatus("http://"+s.addr()+"/") == 200
	})
	if !ok {
		err := fmt.Errorf("%s: %w: %s", s.name, errNotReady, s.logs())
		s.stop()
		return nil, err
	}
	return s, nil
}

// gomaxprocs is what shardinit gives each of n Go workers on this machine
// (cpus.Budget.WorkerGOMAXPROCS, with no CPU quota): hand-launched workers
// get the same, so that only the launching differs.
func gomaxprocs(n int) int { return max(1, runtime.NumCPU()/n) }

// goOne is one process of the Go worker binding the port itself, under
// wrapper (nil, tini or dumb-init).
func goOne(name string, rounds int, wrapper ...string) launch {
	return launch{name: name, boot: func(ctx context.Context, port int, env []string) (*server, error) {
		s := &server{name: name, port: port}
		var err error
		if s.notify, err = newNotify(); err != nil {
			return nil, err
		}
		argv := append(append([]string{}, wrapper...), cfg.cpu, "-rounds", strconv.Itoa(rounds), "-listen", s.addr())
		p, err := startProc(name, argv, slices.Concat(env, []string{"NOTIFY_SOCKET=" + s.notify.path})...)
		if err != nil {
			s.notify.close()
			return nil, err
		}
		s.procs = append(s.procs, p)
		return s.ready(ctx, 15*time.Second, func() bool { return s.notify.count() >= 1 })
	}}
}

// goReuseport is n processes of the Go worker, each binding the port with
// SO_REUSEPORT itself: what shardinit's per-worker sockets should equal.
func goReuseport(name string, rounds, n int) launch {
	return launch{name: name, boot: func(ctx context.Context, port int, env []string) (*server, error) {
		s := &server{name: name, port: port}
		var err error
		if s.notify, err = newNotify(); err != nil {
			return nil, err
		}
		for i := range n {
			p, err := startProc(fmt.Sprintf("%s[%d]", name, i),
				[]string{cfg.cpu, "-rounds", strconv.Itoa(rounds), "-reuseport", s.addr()},
				slices.Concat(env, []string{"NOTIFY_SOCKET=" + s.notify.path, "GOMAXPROCS=" + strconv.Itoa(gomaxprocs(n)),
					"SHARDINIT_SLOT=" + strconv.Itoa(i), "SHARDINIT_SLOTS=" + strconv.Itoa(n)})...)
			if err != nil {
				s.stop()
				return nil, err
			}
			s.procs = append(s.procs, p)
		}
		// Every process must have joined the group before the load starts:
		// a connection is hashed over the sockets there are when it arrives.
		return s.ready(ctx, 15*time.Second+time.Duration(n)*100*time.Millisecond, func() bool { return s.notify.count() >= n })
	}}
}

// shardinitLaunch runs command under shardinit with n workers, the health
// server on port+1, and flags; it is ready when /readyz answers 200.
func shardinitLaunch(name string, n int, flags []string, command ...string) launch {
	return launch{name: name, boot: func(ctx context.Context, port int, env []string) (*server, error) {
		s := &server{name: name, port: port, health: port + 1}
		argv := []string{cfg.shardinit, "--workers", strconv.Itoa(n), "--listen", "http=" + s.addr(),
			"--health-addr", fmt.Sprintf("127.0.0.1:%d", s.health), "--log-level", "warn"}
		argv = append(append(argv, flags...), "--")
		for _, a := range command {
			argv = append(argv, strings.ReplaceAll(a, "{port}", strconv.Itoa(port)))
		}
		p, err := startProc(name, argv, env...)
		if err != nil {
			return nil, err
		}
		s.procs = append(s.procs, p)
		return s.ready(ctx, 30*time.Second+time.Duration(n)*100*time.Millisecond, func() bool {
			return httpStatus(fmt.Sprintf("http://127.0.0.1:%d/readyz", s.health)) == 200
		})
	}}
}

// markerLaunch runs argv and waits for it to print READY (the node server).
func markerLaunch(name string, argv []string) launch {
	return argvLaunch(name, argv, func(p *proc) bool { return p.out.readies() >= 1 })
}

// plainLaunch runs argv and waits until the port answers (gunicorn).
func plainLaunch(name string, argv []string) launch {
	return argvLaunch(name, argv, func(*proc) bool { return true })
}

// argvLaunch runs argv, with {port} replaced, until ready says so and the
// port answers.
func argvLaunch(name string, argv []string, ready func(*proc) bool) launch {
	return launch{name: name, boot: func(ctx context.Context, port int, env []string) (*server, error) {
		s := &server{name: name, port: port}
		a := make([]string, len(argv))
		for i, v := range argv {
			a[i] = strings.ReplaceAll(v, "{port}", strconv.Itoa(port))
		}
		p, err := startProc(name, a, env...)
		if err != nil {
			return nil, err
		}
		s.procs = append(s.procs, p)
		return s.ready(ctx, 20*time.Second, func() bool { return ready(p) })
	}}
}

func cpuCmd(rounds int, extra ...string) []string {
	return append([]string{cfg.cpu, "-rounds", strconv.Itoa(rounds)}, extra...)
}

// socketCases are shardinit with n Go workers, with per-worker sockets and
// with one shared socket; prefix starts their names.
func socketCases(prefix string, rounds, n int) []launch {
	return []launch{
		shardinitLaunch(prefix+"per-worker sockets", n, []string{"--ready-on", "notify"}, cpuCmd(rounds)...),
		shardinitLaunch(prefix+"shared socket", n, []string{"--ready-on", "notify", "--sockets", "shared"}, cpuCmd(rounds)...),
	}
}

// manyCases are n Go workers on one port: binding it with SO_REUSEPORT by
// hand, and under shardinit (socketCases).
func manyCases(rounds, n int) []launch {
	return append([]launch{goReuseport(fmt.Sprintf("%d processes, SO_REUSEPORT by hand (the limit)", n), rounds, n)},
		socketCases(fmt.Sprintf("shardinit ×%d, ", n), rounds, n)...)
}

// goCases are the Go configurations of the zero-cost section.
func goCases(rounds, n int, hello bool) []launch {
	cases := append([]launch{
		goOne("one process", rounds),
		goOne("one process under tini", rounds, "tini", "-s", "--"),
		goOne("one process under dumb-init", rounds, "dumb-init"),
	}, manyCases(rounds, n)...)
	if hello {
		cases = append(cases, shardinitLaunch(fmt.Sprintf("shardinit ×%d, per-worker sockets, examples/hello", n), n,
			[]string{"--ready-on", "notify"}, cfg.hello))
	}
	return cases
}

// rotate returns the cases in the order run r takes them: each run starts
// one later, so that no case always runs first (or after the same one).
func rotate[T any](cases []T, r int) []T {
	out := make([]T, 0, len(cases))
	for i := range cases {
		out = append(out, cases[(i+r)%len(cases)])
	}
	return out
}

// warm runs the load once, discarded: the server's first connections,
// caches and JIT (node) are not in the figures.
func warm(ctx context.Context, s *server) {
	runWrk(ctx, wrkOpts{port: s.port, duration: cfg.warmup, keepalive: true})
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
