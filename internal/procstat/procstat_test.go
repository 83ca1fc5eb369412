package procstat

import (
	"os"
	"strings"
	"testing"
)

func TestPPID(t *testing.T) {
	for _, c := range []struct {
		stat string
		want int
		err  string
	}{
		{"12 (hello) S 1 12 12 0 -1 4194560", 1, ""},
		{"40 (a) S 99 (b)) R 7 40 40 0", 7, ""}, // a command named "a) S 99 (b"
		{"41 (my server) T 12 41", 12, ""},
		{"garbage", 0, "no ')'"},
		{"42 (x) S", 0, "1 fields"},
		{"43 (x) S ?", 0, `parent pid "?"`},
	} {
		s, err := Parse([]byte(c.stat))
		var got int
		if err == nil {
			got, err = s.PPID()
		}
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("PPID of %q = %d, %v; want %d", c.stat, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("PPID of %q: error %v, want one with %q", c.stat, err, c.err)
		}
	}
}

func TestStartTicksAndState(t *testing.T) {
	s, err := Parse([]byte("12 (my (server)) T 1 12 12 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 4 0 987654 1000000 200"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.StartTicks(); err != nil || got != 987654 {
		t.Errorf("StartTicks = %d, %v; want 987654", got, err)
	}
	if got := s.State(); got != "T" {
		t.Errorf("State = %q, want T", got)
	}
	short, _ := Parse([]byte("12 (x) S 1 12"))
	if _, err := short.StartTicks(); err == nil {
		t.Errorf("StartTicks of a short line: got no error")
	}
}

func TestReadSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	self, err := Read(0)
	if err != nil {
		t.Fatal(err)
	}
	byPID, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := self.StartTicks()
	b, _ := byPID.StartTicks()
	if ppid, _ := self.PPID(); a == 0 || a != b || ppid != os.Getppid() {
		t.Errorf("self: start %d, by pid %d, ppid %d (want %d)", a, b, ppid, os.Getppid())
	}
}
