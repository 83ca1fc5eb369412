package spawn

import (
	"context"
	"errors"
	"os"
	"runtime"
	"time"
)

// ErrNoCommand is returned by Run when Config.Command is empty.
var ErrNoCommand = errors.New("no command to run: give one after --")

// Run starts the workers and supervises them until the pool has stopped,
// then returns the exit code shardinit should end with: the first non-zero
// exit of a worker that ended the pool or stopped with it (128+signal for a
// signalled one), else 0. An error means no worker was started; an
// *ExitError in it carries the exit code (127, 126).
//
// signals must come from Notify, called before anything was spawned. Run
// owns wait4 for the whole process: nothing else may wait for children.
func Run(ctx context.Context, cfg Config, signals <-chan os.Signal) (int, error) {
	if len(cfg.Command) == 0 {
		return 0, &ExitError{Code: 2, Err: ErrNoCommand}
	}
	cfg = withDefaults(cfg)
	if cfg.Path == "" {
		path, err := Resolve(cfg.Command[0])
		if err != nil {
			return 0, err
		}
		cfg.Path = path
	}
	// Pdeathsig fires when the thread that forked exits, not the process:
	// every fork happens on this thread, which stays locked until every
	// worker is gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s := newSupervisor(cfg)
	s.becomeReaper()
	now := time.Now()
	for _, sl := range s.slots {
		s.start(sl, now)
	}
	return s.loop(ctx, signals), nil
}
