//go:build !linux

package listen

// Bind is Linux-only: SO_REUSEPORT spreading is what shardinit is built on.
func Bind(specs []Spec, shards int, opts Options) (*Set, error) {
	return nil, ErrNotSupported
}

// Somaxconn is the default backlog where the kernel cannot be asked.
func Somaxconn() int { return 4096 }

type socketFile struct{}

func (l *Listener) close() error { return nil }
