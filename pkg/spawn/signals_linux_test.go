package spawn

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]unix.Signal{
		"15": unix.SIGTERM, "TERM": unix.SIGTERM, "SIGTERM": unix.SIGTERM, "sigterm": unix.SIGTERM,
		"quit": unix.SIGQUIT, "9": unix.SIGKILL, "RTMIN+3": 37, "SIGRTMIN+0": 34,
	} {
		got, err := ParseSignal(in)
		if err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "65", "NOPE", "RTMIN+31", "-1"} {
		if _, err := ParseSignal(in); err == nil {
			t.Errorf("ParseSignal(%q): got no error", in)
		}
	}
}

func TestDefaultSignalMap(t *testing.T) {
	m := DefaultSignalMap()
	for sig, want := range map[unix.Signal]action{
		unix.SIGTERM: stop, unix.SIGINT: stop, unix.SIGCHLD: reap, unix.SIGHUP: restart,
		unix.SIGPIPE: ignore, unix.SIGSEGV: ignore, unix.SIGBUS: ignore, unix.SIGFPE: ignore,
		unix.SIGILL: ignore, unix.SIGTRAP: ignore, unix.SIGSYS: ignore,
		unix.SIGUSR1: forward, unix.SIGQUIT: forward, unix.SIGWINCH: forward, unix.SIGTTIN: scaleUp, unix.SIGTTOU: scaleDown, 40: forward,
	} {
		if got := m.route(sig).action; got != want {
			t.Errorf("route(%s) = %d, want %d", SignalName(sig), got, want)
		}
	}
}

func TestParseSignalMap(t *testing.T) {
	m, err := ParseSignalMap("HUP=forward,USR2=restart,QUIT=forward:TERM,9=ignore")
	if err == nil {
		t.Fatalf("mapping KILL: got no error, map %v", m)
	}
	m, err = ParseSignalMap("HUP=forward, USR2=restart,QUIT=forward:TERM,WINCH=ignore,SIGINT=forward:SIGINT")
	if err != nil {
		t.Fatal(err)
	}
	for sig, want := range map[unix.Signal]Route{
		unix.SIGHUP: {action: forward}, unix.SIGUSR2: {action: restart}, unix.SIGQUIT: {action: forward, As: unix.SIGTERM},
		unix.SIGWINCH: {action: ignore}, unix.SIGTERM: {action: stop}, unix.SIGINT: {action: forward, As: unix.SIGINT},
	} {
		if got := m.route(sig); got != want {
			t.Errorf("route(%s) = %+v, want %+v", SignalName(sig), got, want)
		}
	}
	if got, want := m.String(), "HUP=forward,INT=forward:INT,QUIT=forward:TERM,TERM=stop,TTIN=scale-up,TTOU=scale-down,USR2=restart,WINCH=ignore"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, bad := range []string{"HUP", "HUP=explode", "NOPE=stop", "PIPE=stop", "CHLD=forward", "STOP=ignore", "URG=stop", "QUIT=forward:NOPE"} {
		if _, err := ParseSignalMap(bad); err == nil {
			t.Errorf("ParseSignalMap(%q): got no error", bad)
		}
	}
}

func TestExitCodeAndDescribe(t *testing.T) {
	// Wait statuses as the kernel encodes them: exit code in bits 8-15,
	// terminating signal in bits 0-6, core flag 0x80.
	for _, c := range []struct {
		ws   unix.WaitStatus
		code int
		how  string
	}{
		{0, 0, "exit status 0"},
		{3 << 8, 3, "exit status 3"},
		{unix.WaitStatus(unix.SIGKILL), 137, "killed by SIGKILL"},
		{unix.WaitStatus(unix.SIGSEGV) | 0x80, 139, "killed by SIGSEGV (core dumped)"},
	} {
		if got := exitCode(c.ws); got != c.code {
			t.Errorf("exitCode(%#x) = %d, want %d", c.ws, got, c.code)
		}
		if got := describe(c.ws); got != c.how {
			t.Errorf("describe(%#x) = %q, want %q", c.ws, got, c.how)
		}
	}
}
