package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// parentOf is pid's parent, as this PID namespace sees it.
func parentOf(pid int) (int, error) { return readStat(pid, parsePPID) }

// startTicksOf is pid's start time in clock ticks after boot.
func startTicksOf(pid int) (uint64, error) { return readStat(pid, parseStartTicks) }

// readStat reads /proc/PID/stat and parses it, naming the file in the error.
func readStat[T any](pid int, parse func(stat []byte) (T, error)) (T, error) {
	var zero T
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	b, err := os.ReadFile(path)
	if err != nil {
		return zero, err
	}
	v, err := parse(b)
	if err != nil {
		return zero, fmt.Errorf("parse %s: %w", path, err)
	}
	return v, nil
}

// migrateReqOff reports whether this network namespace resets the
// connections queued on a listener that closes, instead of moving them to
// another socket of its SO_REUSEPORT group: net.ipv4.tcp_migrate_req is 0,
// or the kernel (before 5.14) has no such setting.
func migrateReqOff() bool {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_migrate_req")
	return err != nil || strings.TrimSpace(string(b)) == "0"
}
