package health

import (
	"bytes"
	"os"
	"strconv"
)

// selfStartTicks is this process's start time in clock ticks after boot,
// read once: it never changes.
var selfStartTicks = startTicks()

func startTicks() uint64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// "PID (COMM) STATE PPID …": count from the last ')', since COMM may
	// hold anything; starttime is field 22, the 20th after COMM.
	f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
	if len(f) < 20 {
		return 0
	}
	n, _ := strconv.ParseUint(string(f[19]), 10, 64)
	return n
}
