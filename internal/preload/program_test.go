package preload

import (
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckProgram(t *testing.T) {
	static := "/bin/busybox"
	if f, err := elf.Open(static); err != nil {
		t.Skipf("no static program to try: %v", err)
	} else {
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Skipf("%s is dynamically linked here", static)
			}
		}
	}
	dir := t.TempDir()
	if err := os.Symlink(static, filepath.Join(dir, "staticsh")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":/usr/bin:/bin")
	script := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, c := range []struct {
		path   string
		static bool
	}{
		{static, true},
		{"/bin/sh", false},
		{script("sh-script", "#!/bin/sh\necho hi\n"), false},
		{script("busybox-script", "#! "+static+" sh\necho hi\n"), true},
		{script("env-static", "#!/usr/bin/env staticsh\necho hi\n"), true},
		{script("env-split", "#!/usr/bin/env -S staticsh -e\necho hi\n"), true},
		{script("env-dynamic", "#!/usr/bin/env sh\necho hi\n"), false},
		{script("env-missing", "#!/usr/bin/env no-such-program\n"), false},
		{script("nested", "#!"+filepath.Join(dir, "busybox-script")+"\n"), true},
		{script("no-interpreter", "#!\n"), false},
		{script("plain-text", "echo hi\n"), false},
		{filepath.Join(dir, "missing"), false},
	} {
		err := CheckProgram(c.path)
		if got := errors.Is(err, ErrStatic); got != c.static {
			t.Errorf("CheckProgram(%s) = %v, want static %v", filepath.Base(c.path), err, c.static)
		}
	}
}
