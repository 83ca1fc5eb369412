package main

import (
	"runtime"
	"testing"
)

// dropStartupPages advises the binary's read-only mappings and leaves the
// program running: what it runs next is mapped again when it is used.
// (What it saves is measured in make bench's pid1 section, not here.)
func TestDropStartupPages(t *testing.T) {
	advised, err := dropStartupPages()
	if runtime.GOOS != "linux" {
		t.Skip("madvise is Linux's")
	}
	if err != nil || advised == 0 {
		t.Fatalf("dropStartupPages = %d, %v; want the binary's read-only mappings advised", advised, err)
	}
	if got := versionLine(); got == "" { // code and data paged out a moment ago, mapped again
		t.Fatal("no version line")
	}
}
