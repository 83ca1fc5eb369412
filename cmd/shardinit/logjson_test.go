package main

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"
)

// In JSON every line of shardinit's own says logger=shardinit, an exit
// carries exit_code or signal, and durations are seconds.
func TestJSONLog(t *testing.T) {
	t.Parallel()
	t.Run("exit code", func(t *testing.T) {
		t.Parallel()
		in := startShardinit(t, start{}, append(jsonFlags, worker("exit", "3")...)...)
		if code := in.wait(15 * time.Second); code != 3 {
			t.Fatalf("exit code %d, want 3:\n%s", code, in.log.String())
		}
		exited := jsonLine(t, in.log.String(), "worker exited")
		if exited["exit_code"] != 3.0 || exited["signal"] != nil {
			t.Errorf("exit line %v: want exit_code 3 and no signal", exited)
		}
		if ran, ok := exited["ran"].(float64); !ok || ran < 0 || ran > 15 {
			t.Errorf("ran = %#v, want the seconds the worker ran, as a number", exited["ran"])
		}
	})
	t.Run("signal", func(t *testing.T) {
		t.Parallel()
		in := startShardinit(t, start{}, append(jsonFlags, worker("sleep")...)...)
		var pid int
		eventually(t, 10*time.Second, "the worker to start", func() bool {
			if line := findJSONLine(in.log.String(), "worker started"); line != nil {
				pid = int(line["pid"].(float64))
			}
			return pid != 0
		})
		syscall.Kill(pid, syscall.SIGKILL)
		if code := in.wait(15 * time.Second); code != 128+9 {
			t.Fatalf("exit code %d, want 137:\n%s", code, in.log.String())
		}
		exited := jsonLine(t, in.log.String(), "worker exited")
		if exited["signal"] != "SIGKILL" || exited["exit_code"] != nil {
			t.Errorf("exit line %v: want signal SIGKILL and no exit_code", exited)
		}
	})
}

var jsonFlags = []string{"--log-format", "json", "--workers", "1", "--restart", "never", "--health-addr", "", "--"}

// jsonLine finds the line with msg, and checks that every line of the log
// is shardinit's JSON (the test workers write nothing).
func jsonLine(t *testing.T, log, msg string) map[string]any {
	t.Helper()
	for _, text := range strings.Split(strings.TrimSpace(log), "\n") {
		var line map[string]any
		if err := json.Unmarshal([]byte(text), &line); err != nil {
			t.Fatalf("not JSON: %q", text)
		}
		if line["logger"] != "shardinit" {
			t.Errorf("no logger=shardinit: %q", text)
		}
	}
	line := findJSONLine(log, msg)
	if line == nil {
		t.Fatalf("no %q line in:\n%s", msg, log)
	}
	return line
}

func findJSONLine(log, msg string) map[string]any {
	for _, text := range strings.Split(log, "\n") {
		var line map[string]any
		if json.Unmarshal([]byte(text), &line) == nil && line["msg"] == msg {
			return line
		}
	}
	return nil
}
