package main

import (
	"os"
	"strings"

	"github.com/shardinit/shardinit/internal/procstat"
)

// parentOf is pid's parent, as this PID namespace sees it.
func parentOf(pid int) (int, error) {
	s, err := procstat.Read(pid)
	if err != nil {
		return 0, err
	}
	return s.PPID()
}

// startTicksOf is pid's start time in clock ticks after boot.
func startTicksOf(pid int) (uint64, error) {
	s, err := procstat.Read(pid)
	if err != nil {
		return 0, err
	}
	return s.StartTicks()
}

// migrateReqOff reports whether this network namespace resets the
// connections queued on a listener that closes, instead of moving them to
// another socket of its SO_REUSEPORT group: net.ipv4.tcp_migrate_req is 0,
// or the kernel (before 5.14) has no such setting.
func migrateReqOff() bool {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_migrate_req")
	return err != nil || strings.TrimSpace(string(b)) == "0"
}
