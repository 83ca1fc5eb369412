package main

import (
	"fmt"

	"github.com/shardinit/shardinit/internal/preload"
	"github.com/shardinit/shardinit/pkg/spawn"
)

// preloadable refuses --preload for a command the shim cannot load into (a
// statically linked program, or a script run by one), found through PATH as
// the exec will find it. A command that is not found is left to the start,
// which says so (127); shardinit check does not need it to exist.
func preloadable(command []string) error {
	if len(command) == 0 {
		return nil
	}
	path, err := spawn.Resolve(command[0])
	if err != nil {
		return nil
	}
	if err := preload.CheckProgram(path); err != nil {
		return fmt.Errorf("preload: command %s: %w", command[0], err)
	}
	return nil
}
