package main

import (
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
