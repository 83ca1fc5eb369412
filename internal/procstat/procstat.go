// Package procstat reads /proc/PID/stat, one place for the trap in its
// format: the second field, the command name in parentheses, may itself hold
// spaces and parentheses, so the fields are counted from its last ')'.
package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Stat is one /proc/PID/stat line.
type Stat struct {
	rest []string // the fields after the command name: field 3 is rest[0]
}

// Read reads /proc/PID/stat ("self" for pid 0), naming the file in errors.
func Read(pid int) (Stat, error) {
	path := "/proc/self/stat"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Stat{}, err
	}
	s, err := Parse(b)
	if err != nil {
		return Stat{}, fmt.Errorf("parse %s: %w", path, err)
	}
	return s, nil
}

// Parse splits a /proc/PID/stat line.
func Parse(b []byte) (Stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Stat{}, errors.New("no ')' closes the command name")
	}
	return Stat{strings.Fields(string(b[i+1:]))}, nil
}

// Field is field n, numbered from 1 as in proc(5); n must be 3 or more.
func (s Stat) Field(n int) (string, error) {
	if len(s.rest) < n-2 {
		return "", fmt.Errorf("%d fields after the command name, want at least %d", len(s.rest), n-2)
	}
	return s.rest[n-3], nil
}

// State is the process state letter (field 3), "" if missing.
func (s Stat) State() string {
	f, _ := s.Field(3)
	return f
}

// PPID is the parent's PID (field 4), in the reader's PID namespace.
func (s Stat) PPID() (int, error) {
	return s.pid(4, "parent pid")
}

// Session is the session ID (field 6), in the reader's PID namespace.
func (s Stat) Session() (int, error) {
	return s.pid(6, "session")
}

func (s Stat) pid(n int, what string) (int, error) {
	f, err := s.Field(n)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(f)
	if err != nil {
		return 0, fmt.Errorf("%s %q: not a number", what, f)
	}
	return pid, nil
}

// StartTicks is the start time in clock ticks after boot (field 22): with
// the PID it names a process across PID namespaces and PID reuse.
func (s Stat) StartTicks() (uint64, error) {
	f, err := s.Field(22)
	if err != nil {
		return 0, err
	}
	ticks, err := strconv.ParseUint(f, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("start time %q: not a number", f)
	}
	return ticks, nil
}

// ticksPerSecond is USER_HZ, the unit of /proc's times: 100 on every
// architecture Linux supports (sysconf(_SC_CLK_TCK)).
const ticksPerSecond = 100

func (s Stat) number(n int) (uint64, error) {
	f, err := s.Field(n)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(f, 10, 64)
}

// Usage is what a set of processes holds and has spent.
type Usage struct {
	ResidentBytes uint64
	CPUSeconds    float64 // user and system
}

// Usage is this process's: fields 14 and 15 (utime, stime) and 24 (rss).
func (s Stat) Usage() (Usage, error) {
	utime, err1 := s.number(14)
	stime, err2 := s.number(15)
	rss, err3 := s.number(24)
	if err := errors.Join(err1, err2, err3); err != nil {
		return Usage{}, err
	}
	return Usage{ResidentBytes: rss * uint64(os.Getpagesize()), CPUSeconds: float64(utime+stime) / ticksPerSecond}, nil
}

// BySession sums the usage of the processes of each session wanted, in
// one look at /proc: a worker leads a session of its own, so its session
// is the worker and every process it started (nginx's workers, gunicorn's).
func BySession(wanted map[int]bool) map[int]Usage {
	out := map[int]Usage{}
	Each(func(_ int, st Stat) {
		sid, err := st.Session()
		if err != nil || !wanted[sid] {
			return
		}
		if u, err := st.Usage(); err == nil {
			sum := out[sid]
			sum.ResidentBytes += u.ResidentBytes
			sum.CPUSeconds += u.CPUSeconds
			out[sid] = sum
		}
	})
	return out
}

// Each calls fn with every process in /proc, or with none when /proc is
// not of the caller's PID namespace (its PIDs would be strangers').
func Each(fn func(pid int, st Stat)) {
	if !Ours() {
		return
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := Read(pid); err == nil {
			fn(pid, st)
		}
	}
}

// Ours says whether /proc shows the caller's PID namespace.
func Ours() bool {
	link, err := os.Readlink("/proc/self")
	return err == nil && link == strconv.Itoa(os.Getpid())
}
