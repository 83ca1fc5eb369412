package main

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// A worker's STATUS= text that retitles and clears a terminal reaches
// `shardinit status` as visible escapes, not as control characters.
func TestStatusCommandShowsNoTerminalControls(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	hostile := "\x1b]0;pwned\x07\x1b[2Jserving\r\tnow\u009b31m\x7f"
	in, _ := startPool(t, start{}, 1, p.flag(), "status-text", hostile)
	eventually(t, 10*time.Second, "the worker's STATUS= in /status", func() bool {
		r := p.status()
		return len(r.Slots) == 1 && r.Slots[0].StatusLine == hostile
	})
	out := &syncBuffer{}
	st := startShardinit(t, start{stdout: out}, "status", "--health-addr", p.addr)
	if code := st.wait(10 * time.Second); code != 0 {
		t.Fatalf("shardinit status: exit %d: %s", code, st.log.String())
	}
	shown := out.String()
	if bad := controls(shown); len(bad) > 0 {
		t.Errorf("shardinit status wrote control characters %q, want none but newline:\n%q", bad, shown)
	}
	if !strings.Contains(shown, "pwned") || !strings.Contains(shown, "serving") {
		t.Errorf("shardinit status hides the worker's text, want it shown escaped:\n%s", shown)
	}
	in.stopCleanly()
}

// controls lists the control characters in s other than newline: C0, DEL
// and C1 (a UTF-8 terminal takes U+009B for CSI).
func controls(s string) []rune {
	var bad []rune
	for _, r := range s {
		if r != '\n' && unicode.IsControl(r) {
			bad = append(bad, r)
		}
	}
	if !utf8.ValidString(s) {
		bad = append(bad, utf8.RuneError)
	}
	return bad
}

func TestVisible(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"serving 3 conns", "serving 3 conns"},
		{"héllo wörld ✓", "héllo wörld ✓"},
		{"\x1b]0;title\x07", `\x1b]0;title\a`},
		{"\x1b[2J", `\x1b[2J`},
		{"a\tb\r\nc", `a\tb\r\nc`},
		{"\u009b31m\x7f", `\u009b31m\x7f`},
		{"rtl\u202eoverride", `rtl\u202eoverride`},
		{"bad \xff utf-8", "bad \ufffd utf-8"},
	} {
		if got := visible(c.in); got != c.want {
			t.Errorf("visible(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
