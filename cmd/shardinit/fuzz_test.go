package main

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
)

// checkInProcess runs `shardinit check ARGS` in this process, its output
// discarded, and returns what shardinit prints on stderr (exitCode's line).
func checkInProcess(args ...string) string {
	app, own := appFor(append([]string{"shardinit", "check"}, args...), new(int))
	stderr := &bytes.Buffer{}
	app.Writer, app.ErrWriter = io.Discard, stderr
	exitCode(0, app.RunContext(context.Background(), own), stderr)
	return stderr.String()
}

// oneLine fails the test unless stderr is nothing or one line from
// shardinit.
func oneLine(t *testing.T, input any, stderr string) {
	t.Helper()
	if stderr != "" && (strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "shardinit: ")) {
		t.Fatalf("%q: stderr is not one line from shardinit: %q", input, stderr)
	}
}

// FuzzFlags: no command line panics shardinit check, and what it prints on
// stderr is one line. Arguments are separated by NUL bytes.
func FuzzFlags(f *testing.F) {
	for _, seed := range []string{"--workers\x002", "--health-addr\x00unix:///h.sock", "--listen\x00a=:80\x00--listen\x00b=0.0.0.0:80",
		"--backlog\x004294967296", "--stop-signal\x00STOP", "--signal-map\x00RTMIN+3=restart,USR1=forward:32", "stauts",
		"--stop-timeout\x00-1s", "--bogus", "--success-exit-codes\x00300", "--user\x00nobody:nogroup", "--\x00server\x00--flag"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		for _, a := range args {
			if strings.Contains(a, "config") {
				t.Skip("a file named by the input could be anything (/dev/stdin)")
			}
		}
		oneLine(t, args, checkInProcess(args...))
	})
}

// FuzzEnv: no value of a SHARDINIT_* variable panics shardinit check, and
// what it prints on stderr is one line.
func FuzzEnv(f *testing.F) {
	f.Add(uint8(0), "a=:80,b=127.0.0.1:80")
	f.Add(uint8(1), "many")
	f.Add(uint8(8), "KILL")
	f.Add(uint8(9), "1e10s")
	f.Add(uint8(16), "HUP=restart,,=")
	f.Add(uint8(17), "1,2,x")
	f.Fuzz(func(t *testing.T, i uint8, value string) {
		rows := slices.DeleteFunc(slices.Clone(table), func(s setting) bool { return s.file })
		s := rows[int(i)%len(rows)]
		if strings.ContainsRune(value, 0) {
			t.Skip("no environment holds a NUL")
		}
		t.Setenv(envOf(s.name), value)
		oneLine(t, value, checkInProcess("--", "server"))
	})
}

// FuzzConfigFile: no YAML file panics the configuration's checks, every
// error is one line, and a file that passes loads again from what
// shardinit check prints.
func FuzzConfigFile(f *testing.F) {
	for _, seed := range []string{"workers: 2\n", "workers: 2\nworkers: 3\n", "Workers: 2\n", "stop-timeout: 1e10\n", "wrokers: 1\n",
		"listen: [\"web=:80\", \"api=:80\"]\ncommand: [sleep, 10]\n", "stop-signal: 15\nuser: 1000\n", "- a\n", "{", "a: &a [*a]\n",
		"health-addr: bogus\n", "success-exit-codes: [0, 143]\nready-timeout: 1.5\n", ""} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vals := defaults()
		err := decodeConfig(data, "f.yaml", vals)
		if err == nil {
			_, err = makePlan(vals, []string{"server"})
		}
		if err != nil {
			oneLine(t, data, "shardinit: "+err.Error()+"\n")
			return
		}
		out := vals.yaml()
		again := defaults()
		if err := decodeConfig([]byte(out), "f.yaml", again); err != nil {
			t.Fatalf("%q: what check prints does not load: %v\n%s", data, err, out)
		}
		if out2 := again.yaml(); out2 != out {
			t.Fatalf("%q: loads as\n%s\nnot as\n%s", data, out2, out)
		}
	})
}
