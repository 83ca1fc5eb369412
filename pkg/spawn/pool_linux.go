package spawn

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Pool supervises the workers of one shardinit.
type Pool struct {
	cfg    Config
	probes chan chan struct{}
	stops  chan error
	// snapshot is the supervisor's last published Snapshot; nil before Run
	// has published one.
	snapshot atomic.Pointer[Snapshot]
}

// New applies the defaults to cfg and finds the command (unless cfg.Path
// names it): ErrNoCommand, or one of Resolve's errors, when it cannot.
func New(cfg Config) (*Pool, error) {
	if len(cfg.Command) == 0 {
		return nil, ErrNoCommand
	}
	cfg = withDefaults(cfg)
	if cfg.ReadyOn == ReadyOnAccept && !procIsOurs() {
		cfg.Logger.Warn("/proc is not of shardinit's PID namespace: workers count as ready once started, not once seen accepting")
		cfg.ReadyOn = ReadyOnStart
	}
	if cfg.Path == "" {
		path, err := Resolve(cfg.Command[0])
		if err != nil {
			return nil, err
		}
		cfg.Path = path
	}
	return &Pool{cfg: cfg, probes: make(chan chan struct{}), stops: make(chan error, 1)}, nil
}

// Run starts the workers and supervises them until the pool has stopped,
// then returns the exit code shardinit should end with: the first non-zero
// exit of a worker that ended the pool or stopped with it (128+signal for a
// signalled one), else 0. An error means no worker was started, or is the
// cause given to Stop.
//
// signals must come from Notify, called before anything was spawned. Run
// owns wait4 for the whole process: nothing else may wait for children.
func (p *Pool) Run(ctx context.Context, signals Signals) (int, error) {
	notify, err := newNotifier(p.cfg.NotifyDir, p.cfg.Credential)
	if err != nil {
		return 0, err
	}
	defer notify.close()
	preloadFD := -1
	if len(p.cfg.Preload) > 0 {
		if preloadFD, err = sealedMemfd("shardinit-preload.so", p.cfg.Preload); err != nil {
			return 0, err
		}
		defer unix.Close(preloadFD)
	}
	// Pdeathsig fires when the thread that forked exits, not the process:
	// every fork happens on this thread, which stays locked until every
	// worker is gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s := newSupervisor(p.cfg, notify, &p.snapshot)
	s.preloadFD, s.terminal = preloadFD, onTerminal()
	defer s.reclaimTerminal()
	s.becomeReaper()
	now := time.Now()
	for _, sl := range s.slots {
		s.start(sl, RestartCrash, now) // the first of each slot: no restart
	}
	code := s.loop(ctx, events{children: signals.Child, signals: signals.Other, notes: notify.notes,
		probes: p.probes, stops: p.stops})
	return code, s.stopCause
}

// Snapshot is the pool's last snapshot, which the supervisor publishes
// after each pass that changed it; known is false until the first
// one. It may be called from any goroutine.
func (p *Pool) Snapshot() (st Snapshot, known bool) {
	if sp := p.snapshot.Load(); sp != nil {
		return *sp, true
	}
	return Snapshot{}, false
}

// Stop asks the pool to stop, as a stop signal would, for a reason of its
// own: Run then returns cause as its error (nil: a plain stop, and Run
// returns the exit code alone). Only the first call counts.
func (p *Pool) Stop(cause error) {
	select {
	case p.stops <- cause:
	default:
	}
}

// Alive asks the supervisor's loop to answer, which it does between any
// two events; it fails if the loop does not answer before ctx ends.
func (p *Pool) Alive(ctx context.Context) error {
	reply := make(chan struct{})
	select {
	case p.probes <- reply:
	case <-ctx.Done():
		return ErrNotAnswering
	}
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return ErrNotAnswering
	}
}

// sealedMemfd holds data in an anonymous file that nobody can change: every
// worker maps the same library, whatever it does with its copy of the fd.
func sealedMemfd(name string, data []byte) (int, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, fmt.Errorf("memfd_create %s: %w", name, err)
	}
	for rest := data; len(rest) > 0; {
		n, err := unix.Write(fd, rest)
		if err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("write %s: %w", name, err)
		}
		rest = rest[n:]
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("seal %s: %w", name, err)
	}
	return fd, nil
}
