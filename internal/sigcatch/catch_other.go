//go:build !linux

package sigcatch

import "os"

// Set is one registration: SIGCHLD apart from the rest.
type Set struct {
	Child <-chan os.Signal
	Other <-chan os.Signal
}

// Catch registers nothing where shardinit cannot supervise workers.
func Catch() (Set, func()) {
	return Set{Child: make(chan os.Signal), Other: make(chan os.Signal)}, func() {}
}
