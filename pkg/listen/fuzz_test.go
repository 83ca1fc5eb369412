package listen

import (
	"strings"
	"testing"
)

// FuzzParseSpec: no value panics, every error is one line, and a Spec
// parses back from its String.
func FuzzParseSpec(f *testing.F) {
	for _, seed := range []string{":8080", "web=127.0.0.1:80", "[::]:0", "tcp6://localhost:443", "unix:///run/a=b.sock",
		"unix://@x", "a=b=c", "udp://:53", "[::1", "x=[fe80::1%eth0]:80", "tcp4://[::1]:80"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		s, err := ParseSpec(value)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("ParseSpec(%q): error of more than one line: %q", value, err)
			}
			return
		}
		again, err := ParseSpec(s.String())
		if err != nil || again != s {
			t.Fatalf("ParseSpec(%q) = %+v; its String %q parses as %+v, %v", value, s, s.String(), again, err)
		}
		_ = Clash(s, s)
	})
}
