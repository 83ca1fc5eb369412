package main

import (
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
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

// A burst of scrapes leaves heap and mapped code behind; a second of
// quiet gives them back (how much, in make bench's pid1 section).
func TestQuietAfterScrapesGivesMemoryBack(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("resident memory is read from Linux's /proc")
	}
	t.Parallel()
	port, p := freePort(t), newProbe(t)
	args := append([]string{"--workers", "1", "--listen", listenArg("http", port), "--log-level", "debug"}, p.flag()...)
	in := startShardinit(t, start{}, append(append(args, "--"), worker("http")...)...)
	p.waitCode("/readyz", http.StatusOK)
	for range 300 {
		p.metrics()
	}
	after := residentOf(t, in.cmd.Process.Pid)
	eventually(t, 10*time.Second, "the memory the scrapes left to be given back", func() bool {
		return strings.Contains(in.log.String(), "scrapes over: memory given back")
	})
	if now := residentOf(t, in.cmd.Process.Pid); now > after-1<<20 {
		t.Errorf("resident memory %d KiB after the scrapes, %d KiB once given back: want 1 MiB less or more", after>>10, now>>10)
	}
	in.stopCleanly()
}

// residentOf is a process's VmRSS in bytes.
func residentOf(t *testing.T, pid int) uint64 {
	t.Helper()
	kb, err := strconv.ParseUint(strings.TrimSuffix(procField(pid, "VmRSS"), " kB"), 10, 64)
	if err != nil {
		t.Fatalf("VmRSS of %d: %v", pid, err)
	}
	return kb * 1024
}
