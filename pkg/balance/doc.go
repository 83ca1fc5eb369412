// Package balance steers new connections by load (--sockets balanced).
//
// SO_REUSEPORT hashes each new connection to a shard without looking at
// its worker, so a connection can wait behind a busy worker while another
// is idle. The balancer watches what the kernel shows without the
// worker's help and steers new connections away from the shards whose
// worker cannot take one now:
//
//   - a shard with a connection waiting in its accept queue (any worker);
//   - a shard whose worker is busy: every single-threaded process of it
//     that holds the shard's socket is doing something other than waiting
//     for a connection (its syscall, from /proc/PID/syscall, is not an
//     accept, poll, select or epoll wait). This is how servers that serve
//     one connection at a time (gunicorn sync, Apache prefork) show that
//     they are busy; threaded and event-loop servers are judged by their
//     queue alone.
//
// When every shard or none is to be avoided, the kernel spreads as usual.
// At idle the balancer waits for a new connection in epoll and, once a
// second, looks at whether the shards changed and takes one sample: epoll
// reports a listening socket only if a connection still waits when the
// event is collected, so a worker that accepted at once and is busy with
// that connection is found by that sample. While connections arrive it samples every Interval, and stops 100 ms
// after the last arrival once nothing is avoided. The pool's own steering
// (a roll, a handover, a scale-down) comes first: while it steers, the
// balancer does nothing.
package balance
