package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shardinit/shardinit/internal/preload"
)

// --preload with a statically linked program, named through PATH or as a
// script's interpreter, is refused at start and by check: exit 2, one line.
func TestPreloadRefusesStaticProgram(t *testing.T) {
	t.Parallel()
	static := staticProgram(t)
	dir := t.TempDir()
	if err := os.Symlink(static, filepath.Join(dir, "static-server")); err != nil {
		t.Fatal(err)
	}
	script := writeScript(t, dir, "static-script", "#!"+static+" sh\nexit 0\n")
	env := []string{"PATH=" + dir + ":" + os.Getenv("PATH")}
	for _, command := range []string{"static-server", script} {
		for _, sub := range [][]string{nil, {"check"}} {
			args := append(sub, "--preload", "--listen", listenArg("http", freePort(t)), "--health-addr", "", "--", command)
			in := startShardinit(t, start{env: env}, args...)
			code := in.wait(15 * time.Second)
			lines := strings.Split(strings.TrimSpace(in.log.String()), "\n")
			if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], "statically linked") {
				t.Errorf("shardinit %s: exit %d, log:\n%s\nwant exit 2 and one line that says the program is statically linked",
					strings.Join(args, " "), code, in.log.String())
			}
		}
	}
}

// A dynamically linked program, or a script whose interpreter is one,
// passes the same check.
func TestPreloadAcceptsDynamicProgram(t *testing.T) {
	t.Parallel()
	script := writeScript(t, t.TempDir(), "dynamic-script", "#!/bin/sh\nexit 0\n")
	for _, command := range []string{"/bin/sh", script} {
		in := startShardinit(t, start{}, "check", "--preload", "--", command)
		code := in.wait(15 * time.Second)
		if preload.Library() == nil {
			// Without the shim check refuses --preload anyway; not for this.
			if code != 2 || strings.Contains(in.log.String(), "statically linked") {
				t.Errorf("check --preload -- %s: exit %d: %s, want only the missing shim", command, code, in.log.String())
			}
			continue
		}
		if code != 0 {
			t.Errorf("check --preload -- %s: exit %d: %s, want 0", command, code, in.log.String())
		}
	}
}

// staticProgram is /bin/busybox when it is statically linked, else a Go
// program built here without cgo.
func staticProgram(t *testing.T) string {
	t.Helper()
	if f, err := elf.Open("/bin/busybox"); err == nil {
		defer f.Close()
		if !hasInterp(f) {
			return "/bin/busybox"
		}
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "static")
	build := exec.Command("go", "build", "-o", bin, src)
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("no static program: /bin/busybox is not one and go build failed: %v\n%s", err, out)
	}
	return bin
}

func hasInterp(f *elf.File) bool {
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true
		}
	}
	return false
}

func writeScript(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}
