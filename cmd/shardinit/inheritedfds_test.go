package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A file shardinit inherited without close-on-exec (fds 3 to 8 here) stays
// with shardinit: its worker holds its own sockets and nothing of it.
func TestInheritedFDsNotPassedOn(t *testing.T) {
	t.Parallel()
	marker, err := os.Create(filepath.Join(t.TempDir(), "inherited-marker"))
	if err != nil {
		t.Fatal(err)
	}
	defer marker.Close()
	extra := []*os.File{marker, marker, marker, marker, marker, marker}
	in, port := startPool(t, start{prepare: func(cmd *exec.Cmd) { cmd.ExtraFiles = extra }}, 1, nil, "fds")
	body, err := get(fmt.Sprintf("http://127.0.0.1:%d/fds", port))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(body, marker.Name()); n > 0 {
		t.Errorf("the worker holds %d fds of a file shardinit inherited, want 0:\n%s", n, body)
	}
	in.stopCleanly()
}
