package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// parentOf is pid's parent, as this PID namespace sees it.
func parentOf(pid int) (int, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	ppid, err := parsePPID(b)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return ppid, nil
}

// startTicksOf is pid's start time in clock ticks after boot (field 22).
func startTicksOf(pid int) (uint64, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	f, err := statField(b, 22)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return strconv.ParseUint(f, 10, 64)
}

// migrateReqOff reports whether this network namespace resets the
// connections queued on a listener that closes, instead of moving them to
// another socket of its SO_REUSEPORT group: net.ipv4.tcp_migrate_req is 0,
// or the kernel (before 5.14) has no such setting.
func migrateReqOff() bool {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_migrate_req")
	return err != nil || strings.TrimSpace(string(b)) == "0"
}
