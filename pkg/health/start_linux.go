package health

import "github.com/shardinit/shardinit/internal/procstat"

// selfStartTicks is this process's start time in clock ticks after boot,
// read once: it never changes.
var selfStartTicks = startTicks()

func startTicks() uint64 {
	s, err := procstat.Read(0)
	if err != nil {
		return 0
	}
	n, _ := s.StartTicks()
	return n
}
