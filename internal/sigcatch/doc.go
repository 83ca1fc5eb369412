// Package sigcatch registers shardinit's signal handlers, as early as a Go
// program can.
//
// The Go runtime installs its own handler for every signal before any
// package is initialised. Until os/signal is asked for a signal, that
// handler treats SIGTERM, SIGINT, SIGHUP and the like as fatal: it re-raises
// the signal with the default action, and as PID 1 (for which the kernel
// ignores a default action) it then exits with status 2 — the code shardinit
// uses for bad input. Registering in package main leaves that window open
// for the whole initialisation of every package shardinit links (the
// metrics library's among them, tens of milliseconds on a loaded node).
//
// This package imports nothing but os/signal and what that needs, so the
// Go toolchain initialises it right after os/signal, before the heavy
// packages; its init registers when shardinit runs as PID 1 (and is not a
// worker passing through the exec stage). The window left is the runtime's
// own start-up until then; a signal in it still ends in status 2, which
// nothing in a Go program can change.
//
// SIGCHLD has a channel of its own, of capacity one: it only says "reap",
// and the reaper collects every exited child at once, so one pending is as
// good as a thousand. The other signals share a large channel that a storm
// of exiting children cannot fill.
package sigcatch
