package main

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A SIGTERM that reaches shardinit as PID 1 while its packages are still
// being initialised ends the pool like one at any other time: 128+15 from a
// worker that dies of it, never 2 (the Go runtime's exit for a fatal signal
// that nothing has asked for, which here means bad input). The runtime's
// init trace marks the moment: the signal goes out as soon as the package
// initialised after os/signal is reported, long before main runs. Ten runs.
func TestSignalDuringStartup(t *testing.T) {
	t.Parallel()
	for run := range 10 {
		if code, window := termDuringInit(t); code != 128+int(syscall.SIGTERM) {
			t.Fatalf("run %d: exit code %d, want %d", run+1, code, 128+int(syscall.SIGTERM))
		} else if run == 0 {
			t.Logf("signals were caught %s after the runtime started", window)
		}
	}
}

// initLine is one line of GODEBUG=inittrace=1: a package and when its
// init ran, in milliseconds after the program started.
var initLine = regexp.MustCompile(`^init (\S+) @([0-9.]+) ms`)

// termDuringInit starts shardinit as PID 1 with its init traced, sends
// SIGTERM right after os/signal's init, and returns the exit code and when
// shardinit's own handlers were in place.
func termDuringInit(t *testing.T) (int, time.Duration) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	in := startShardinit(t, start{pid1: true, stderr: w, env: []string{"GODEBUG=inittrace=1"}},
		"--health-addr", "", "--", "sleep", "1000")
	w.Close()
	lines, sent, caught := bufio.NewScanner(r), false, time.Duration(0)
	for !sent && lines.Scan() {
		m := initLine.FindStringSubmatch(lines.Text())
		switch {
		case m == nil:
		case m[1] == "os/signal":
			for lines.Scan() && !strings.HasPrefix(lines.Text(), "init ") {
			}
			in.signal(syscall.SIGTERM)
			sent = true
			if m = initLine.FindStringSubmatch(lines.Text()); m != nil && strings.HasSuffix(m[1], "/sigcatch") {
				ms, _ := strconv.ParseFloat(m[2], 64)
				caught = time.Duration(ms * float64(time.Millisecond))
			}
		}
	}
	if !sent {
		t.Fatalf("no init trace for os/signal: %v", lines.Err())
	}
	go func() {
		for lines.Scan() {
			in.log.Write(append(lines.Bytes(), '\n'))
		}
	}()
	return in.wait(15 * time.Second), caught
}
