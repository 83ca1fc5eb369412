//go:build !linux

package listen

// Queue needs Linux's TCP_INFO on listening sockets.
func (l *Listener) Queue(shard int) (Queue, error) { return Queue{}, ErrNotSupported }

// ReadNetstat needs Linux's /proc/net/netstat.
func ReadNetstat() (Netstat, error) { return Netstat{}, ErrNotSupported }
