// Package listen binds the sockets that shardinit hands to its workers and
// keeps their SO_REUSEPORT groups: shards, queues, steering. A Go worker
// takes its sockets back with the worker SDK (package worker, a module of
// its own).
//
// shardinit binds every listener itself, before any worker exists. In the
// default per-worker mode each TCP listener becomes a SO_REUSEPORT group of
// one socket per worker slot (a shard): the kernel hashes each new
// connection to a shard, and only that shard's worker wakes up. Because the
// supervisor keeps every shard open, a worker that dies loses nothing that
// was queued: a reuseport socket that closes resets its accept queue, but a
// shard whose worker is gone stays open and its successor drains the queue.
//
// Traps this package takes care of:
//   - sockets are created blocking, as systemd passes them, because
//     O_NONBLOCK is shared by everyone who holds the open file;
//   - for port 0 the later shards bind the port the first one got;
//   - unix sockets are always one shared socket, since the kernel does not
//     spread AF_UNIX connections; a stale socket file is removed only when
//     nothing answers on it, and Close removes only the file it created;
//   - joining a reuseport group needs the same user and SO_REUSEPORT on
//     both sides: a plain listener on the port makes Bind fail with
//     EADDRINUSE, another shardinit's group is joined (on purpose: two pods
//     of one service may share a host port during a rollout).
package listen
