//go:build !linux

package spawn

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"syscall"

	"github.com/shardinit/shardinit/internal/sigcatch"
)

// ExecStage does nothing where Run cannot start workers.
func ExecStage() {}

// Signals are the channels Run reads signals from.
type Signals = sigcatch.Set

// Notify returns channels that never deliver.
func Notify() (Signals, func()) { return sigcatch.Catch() }

// Pool needs Linux: subreaper, Pdeathsig and wait4 semantics.
type Pool struct{}

// New fails where workers cannot be supervised.
func New(Config) (*Pool, error) { return nil, errors.ErrUnsupported }

// Run fails where workers cannot be supervised.
func (*Pool) Run(context.Context, Signals) (int, error) { return 0, errors.ErrUnsupported }

// Alive fails where workers cannot be supervised.
func (*Pool) Alive(context.Context) error { return errors.ErrUnsupported }

// Snapshot knows nothing where workers cannot be supervised.
func (*Pool) Snapshot() (Snapshot, bool) { return Snapshot{}, false }

// Stop does nothing where workers cannot be supervised.
func (*Pool) Stop(error) {}

// ParseSignal accepts only numbers where signal names are not known.
func ParseSignal(s string) (syscall.Signal, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 64 {
		return 0, fmt.Errorf("signal %q: %w", s, errors.ErrUnsupported)
	}
	return syscall.Signal(n), nil
}

// SignalMap needs Linux's signals.
type SignalMap map[syscall.Signal]struct{}

// RestartSignal is none where workers cannot be supervised.
func (SignalMap) RestartSignal() syscall.Signal { return 0 }

// DefaultSignalMap is empty where workers cannot be supervised.
func DefaultSignalMap() SignalMap { return SignalMap{} }

// ParseSignalMap fails where workers cannot be supervised.
func ParseSignalMap(string) (SignalMap, error) { return nil, errors.ErrUnsupported }

// SignalName is the signal's number where names are not known.
func SignalName(sig syscall.Signal) string { return strconv.Itoa(int(sig)) }

// CheckStopSignal refuses nothing where workers cannot be supervised.
func CheckStopSignal(syscall.Signal) error { return nil }
