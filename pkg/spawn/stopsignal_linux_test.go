package spawn

import (
	"maps"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCheckStopSignal(t *testing.T) {
	for _, sig := range []unix.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGQUIT, unix.SIGUSR1, unix.SIGWINCH, unix.SIGHUP, 34, 64} {
		if err := CheckStopSignal(sig); err != nil {
			t.Errorf("CheckStopSignal(%s): %v", SignalName(sig), err)
		}
	}
	for _, sig := range []unix.Signal{unix.SIGKILL, unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU,
		unix.SIGCONT, unix.SIGCHLD, unix.SIGURG, unix.SIGPROF, 32, 33} {
		if err := CheckStopSignal(sig); err == nil {
			t.Errorf("CheckStopSignal(%s): got no error", SignalName(sig))
		}
	}
}

func TestSignalNameParsesBack(t *testing.T) {
	for sig, want := range map[unix.Signal]string{unix.SIGTERM: "SIGTERM", 32: "32", 33: "33", 34: "SIGRTMIN+0", 37: "SIGRTMIN+3", 64: "SIGRTMIN+30"} {
		if got := SignalName(sig); got != want {
			t.Errorf("SignalName(%d) = %q, want %q", sig, got, want)
		}
		if back, err := ParseSignal(SignalName(sig)); err != nil || back != sig {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", SignalName(sig), back, err, sig)
		}
	}
}

// What String writes, ParseSignalMap reads back as the same map, with
// real-time signals too (they have no name of their own).
func TestSignalMapRoundTrip(t *testing.T) {
	m, err := ParseSignalMap("RTMIN+3=restart,USR1=forward:RTMIN+2,RTMIN+30=ignore,64=stop,HUP=forward,40=forward:TERM")
	if err != nil {
		t.Fatal(err)
	}
	want := "HUP=forward,INT=stop,RTMIN+30=stop,RTMIN+3=restart,RTMIN+6=forward:TERM,TERM=stop,TTIN=scale-up,TTOU=scale-down,USR1=forward:RTMIN+2"
	if got := m.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	back, err := ParseSignalMap(m.String())
	if err != nil || !maps.Equal(back, m) {
		t.Errorf("ParseSignalMap(%q) = %v, %v; want %v", m.String(), back, err, m)
	}
	for _, bad := range []string{"USR1=forward:32", "USR1=forward:URG", "PROF=restart", "33=stop"} {
		if _, err := ParseSignalMap(bad); err == nil {
			t.Errorf("ParseSignalMap(%q): got no error", bad)
		}
	}
}

// FuzzParseSignal: no input panics, errors are one line, and SignalName
// writes what ParseSignal reads back.
func FuzzParseSignal(f *testing.F) {
	for _, seed := range []string{"TERM", "15", "sigquit", "RTMIN+3", "SIGRTMIN+30", "RTMIN+31", "0", "65", "-1", "signal 37", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := ParseSignal(s)
		if err != nil {
			oneLine(t, s, err)
			return
		}
		if back, err := ParseSignal(SignalName(sig)); err != nil || back != sig {
			t.Fatalf("ParseSignal(%q) = %d, whose SignalName %q parses as %d, %v", s, sig, SignalName(sig), back, err)
		}
	})
}

// FuzzParseSignalMap: no input panics, errors are one line, and a map
// parses back from its String.
func FuzzParseSignalMap(f *testing.F) {
	for _, seed := range []string{"HUP=restart,USR2=forward,QUIT=forward:TERM,WINCH=ignore", "RTMIN+3=scale-up", "40=forward:RTMIN+1",
		"HUP", "KILL=stop", "USR1=forward:32", "TERM=forward:TERM, INT=ignore", "=", ",,"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseSignalMap(s)
		if err != nil {
			oneLine(t, s, err)
			return
		}
		if back, err := ParseSignalMap(m.String()); err != nil || !maps.Equal(back, m) {
			t.Fatalf("ParseSignalMap(%q) = %v; its String %q parses as %v, %v", s, m, m.String(), back, err)
		}
	})
}

func oneLine(t *testing.T, input string, err error) {
	t.Helper()
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("%q: error of more than one line: %q", input, err)
	}
}
