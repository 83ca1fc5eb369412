// Package worker is shardinit's worker SDK: what a Go server needs to run
// under shardinit, or under systemd socket activation, which speaks the
// same protocol. It has no dependencies and builds on every platform Go
// does, so a worker can require its module alone.
//
//   - Inherited takes the listening sockets shardinit passed (fds 3, 4, …
//     named by LISTEN_FDNAMES), as go-systemd's activation.Listeners does.
//   - Serve and ServeHTTP serve an http.Server on them and drain it on
//     SIGTERM: in-flight requests finish, keep-alive connections close
//     between requests, and new connections still queued are answered.
//   - Ready, Stopping, StatusLine and Watchdog speak sd_notify on
//     NOTIFY_SOCKET; WatchdogInterval reads WATCHDOG_USEC.
//   - Limit caps the connections a listener has open at once
//     (SHARDINIT_MAX_CONNS for LimitFromEnv).
//   - SHARDINIT_MAX_CONN_AGE ends HTTP/1.1 keep-alive connections once
//     they are that old (Connection: close on the next response), so
//     that long-lived clients are spread over the workers again.
package worker
