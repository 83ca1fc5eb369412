//go:build !linux

package listen

import "errors"

// Bind is Linux-only: SO_REUSEPORT spreading is what shardinit is built on.
func Bind(specs []Spec, shards int, opts Options) (*Set, error) {
	return nil, errors.ErrUnsupported
}

// Somaxconn is the default backlog where the kernel cannot be asked.
func Somaxconn() int { return 4096 }

type socketFile struct{}

func (l *Listener) close() error { return nil }

// AddShard needs Linux's SO_REUSEPORT groups.
func (s *Set) AddShard(bool) (int, error) { return -1, errors.ErrUnsupported }

// Steer needs Linux's SO_ATTACH_REUSEPORT_CBPF.
func (s *Set) Steer(away ...int) error { return errors.ErrUnsupported }

// Unsteer needs Linux's SO_DETACH_REUSEPORT_BPF.
func (s *Set) Unsteer() error { return errors.ErrUnsupported }

// CloseShard needs Linux's SO_REUSEPORT groups.
func (s *Set) CloseShard(int) (int, int, error) { return 0, 0, errors.ErrUnsupported }

// ReplaceShard needs Linux's SO_REUSEPORT groups.
func (s *Set) ReplaceShard(int, int) (int, int, error) { return 0, 0, errors.ErrUnsupported }

// Refresh needs Linux's sock_diag.
func (s *Set) Refresh() []string { return nil }

// ShardFDs needs Linux's SO_REUSEPORT groups.
func (s *Set) ShardFDs() [][]int { return nil }

// Waiting needs Linux's TCP_INFO.
func (s *Set) Waiting(int, []int) int { return 0 }

// SteerLoad needs Linux's SO_ATTACH_REUSEPORT_CBPF.
func (s *Set) SteerLoad([]int) (int, error) { return 0, errors.ErrUnsupported }
