//go:build !linux

package listen

import "errors"

// Queue needs Linux's TCP_INFO on listening sockets.
func (l *Listener) Queue(shard int) (Queue, error) { return Queue{}, errors.ErrUnsupported }

// MigratesOnClose: no SO_REUSEPORT groups outside Linux.
func MigratesOnClose() bool { return false }

// ReadNetstat needs Linux's /proc/net/netstat.
func ReadNetstat() (Netstat, error) { return Netstat{}, errors.ErrUnsupported }
