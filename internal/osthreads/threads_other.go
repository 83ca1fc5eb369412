//go:build !linux

// Package osthreads makes a Go program create the OS threads it will need
// while it still can (Linux only).
package osthreads

import "errors"

var errNotSupported = errors.New("not supported on this system")

// Reserve does nothing where threads cannot be counted.
func Reserve(int) (int, error) { return 0, errNotSupported }

// Count fails where threads cannot be counted.
func Count() (int, error) { return 0, errNotSupported }
