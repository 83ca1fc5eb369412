package preload

import (
	"bytes"
	"debug/elf"
	"fmt"
	"runtime"
)

// machines are the ELF machines of the architectures shardinit is
// released for.
var machines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// CheckMachine refuses a shim that is not an ELF shared object for goarch:
// a worker's loader would skip it with a warning and the worker would run
// without its sockets. make dist checks each architecture's shim with it
// before embedding it, and Checked at start.
func CheckMachine(lib []byte, goarch string) error {
	f, err := elf.NewFile(bytes.NewReader(lib))
	if err != nil {
		return fmt.Errorf("the LD_PRELOAD shim is not an ELF file: %w", err)
	}
	defer f.Close()
	want, known := machines[goarch]
	switch {
	case f.Type != elf.ET_DYN:
		return fmt.Errorf("the LD_PRELOAD shim is an ELF %s, not a shared object", f.Type)
	case !known:
		return fmt.Errorf("the LD_PRELOAD shim cannot be checked for %s (known: amd64, arm64)", goarch)
	case f.Machine != want:
		return fmt.Errorf("the LD_PRELOAD shim is built for %s, this shardinit for %s (%s): rebuild it with make build or make dist",
			f.Machine, goarch, want)
	}
	return nil
}

// Checked is the shim, checked for this binary's architecture: ErrMissing
// when the binary has none.
func Checked() ([]byte, error) {
	if library == nil {
		return nil, ErrMissing
	}
	if err := CheckMachine(library, runtime.GOARCH); err != nil {
		return nil, err
	}
	return library, nil
}
