package preload

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrStatic says that a program has no dynamic loader, the part of a
// dynamically linked program that reads LD_PRELOAD. Run with --preload, it
// would start without the shim and bind its port itself, beside the shard
// sockets shardinit holds: Caddy 2.6 hung without a word, busybox httpd
// exits on EADDRINUSE until its slot's restart budget is spent.
var ErrStatic = errors.New("statically linked (its ELF has no PT_INTERP): the LD_PRELOAD shim cannot load into it; " +
	"give it its sockets through LISTEN_FDS instead, or leave out --preload")

// CheckProgram reports whether the shim can load into the program at path:
// an ELF program with an interpreter (the dynamic loader), or a script
// whose #! interpreter is one, followed through nested scripts and through
// `#!/usr/bin/env NAME` to NAME in PATH, since each passes LD_PRELOAD on to
// the next. A file that is neither an ELF program nor a script is left for
// the exec to judge. The error names the program at fault.
func CheckProgram(path string) error {
	return checkProgram(path, 0)
}

// maxScripts is how deep scripts may name scripts as their interpreters
// before the check gives up (Linux itself stops after a few).
const maxScripts = 4

func checkProgram(path string, depth int) error {
	head, err := readHead(path)
	if err != nil {
		return nil // not readable here: whether it can run is the exec's business
	}
	if !bytes.HasPrefix(head, []byte("#!")) {
		return checkELF(path)
	}
	if depth == maxScripts {
		return nil
	}
	interp, ok := interpreter(head)
	if !ok {
		return nil
	}
	if err := checkProgram(interp, depth+1); err != nil {
		return fmt.Errorf("%s: its interpreter %w", path, err)
	}
	return nil
}

// readHead reads the first line's worth of a file, as much as the kernel
// looks at for #! (256 bytes).
func readHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, _ := f.Read(buf)
	return buf[:n], nil
}

// interpreter is the program a #! line runs: the interpreter itself, or
// for env (`#!/usr/bin/env [-S] NAME …`) NAME as found in PATH.
func interpreter(head []byte) (string, bool) {
	line, _, _ := bytes.Cut(head[2:], []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) == 0 {
		return "", false
	}
	if filepath.Base(fields[0]) != "env" {
		return fields[0], true
	}
	args := fields[1:]
	if len(args) > 0 && args[0] == "-S" {
		args = args[1:]
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") || strings.Contains(args[0], "=") {
		return "", false // env options or assignments: not worth guessing
	}
	path, err := exec.LookPath(args[0])
	return path, err == nil
}

// checkELF refuses an ELF executable without a program interpreter; any
// other file passes.
func checkELF(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return nil
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return nil
		}
	}
	return fmt.Errorf("%s is %w", path, ErrStatic)
}
