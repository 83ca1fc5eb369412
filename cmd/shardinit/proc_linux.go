package main

import (
	"fmt"
	"os"
	"strconv"
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
