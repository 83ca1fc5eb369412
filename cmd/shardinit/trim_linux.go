package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// dropStartupPages gives back the pages of shardinit's own binary that it
// maps but never writes (its code and read-only data). The kernel maps
// them around each page touched (fault-around), and the start touches
// much that an idle PID 1 never runs again: together most of the binary,
// about 10 MiB of its resident memory. They stay in the page cache; what
// shardinit runs later is mapped again when it is first used, a minor
// fault, and MADV_RANDOM keeps the kernel from mapping more around it.
// It returns the bytes of the mappings it advised.
func dropStartupPages() (int, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	advised := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-00971000 r-xp 00000000 fd:01 1234 /path/to/shardinit
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || strings.Join(fields[5:], " ") != exe || strings.Contains(fields[1], "w") {
			continue
		}
		from, to, ok := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(from, 16, 64)
		end, err2 := strconv.ParseUint(to, 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			continue
		}
		for _, advice := range []int{unix.MADV_RANDOM, unix.MADV_PAGEOUT} {
			// A kernel without MADV_PAGEOUT (before 5.4) says EINVAL:
			// the pages then stay, as they were.
			unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), uintptr(advice))
		}
		advised += int(end - start)
	}
	return advised, sc.Err()
}
