//go:build !linux

package listen

// Queue needs Linux's TCP_INFO on listening sockets.
func (l *Listener) Queue(shard int) (Queue, error) { return Queue{}, ErrNotSupported }

// MigratesOnClose: no SO_REUSEPORT groups outside Linux.
func MigratesOnClose() bool { return false }

// ReadNetstat needs Linux's /proc/net/netstat.
func ReadNetstat() (Netstat, error) { return Netstat{}, ErrNotSupported }
