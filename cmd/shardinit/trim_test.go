package main

import (
	"runtime"
	"testing"
)

// dropStartupPages finds and advises the binary's read-only mappings (what
// it saves is measured in make bench's pid1 section, not here).
func TestDropStartupPages(t *testing.T) {
	advised, err := dropStartupPages()
	if runtime.GOOS != "linux" {
		t.Skip("madvise is Linux's")
	}
	if err != nil || advised == 0 {
		t.Fatalf("dropStartupPages = %d, %v; want the binary's read-only mappings advised", advised, err)
	}
}
