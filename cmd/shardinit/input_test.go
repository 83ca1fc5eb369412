package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shardinit/shardinit/pkg/spawn"
)

// Bad input ends shardinit with one line that names the problem, exit 2
// (1 for a port in use), and nothing started.
func TestBadInput(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() }) // parallel subtests run after this function returns
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	os.WriteFile(typo, []byte("workers: 2\nwrokers: 3\n"), 0o644)
	badType := filepath.Join(dir, "type.yaml")
	os.WriteFile(badType, []byte("workers: many\n"), 0o644)
	cmd := worker("http")
	cases := []struct {
		name string
		args []string
		env  []string
		code int
		want string
	}{
		{"unknown flag", []string{"--bogus"}, nil, 2, "flag provided but not defined: -bogus"},
		{"bad address", []string{"--listen", "http=localhost:http"}, nil, 2, `bad listen address "http=localhost:http": port "http"`},
		{"unknown scheme", []string{"--listen", "udp://:53"}, nil, 2, `unknown scheme "udp"`},
		{"host name", []string{"--listen", "example.com:80"}, nil, 2, `host "example.com" is not an IP address`},
		{"workers < 0", []string{"--workers", "-1"}, nil, 2, "workers -1: must be 0"},
		{"unknown YAML key", []string{"--config", typo}, nil, 2, `config ` + typo + `: unknown key "wrokers"`},
		{"YAML wrong type", []string{"--config", badType}, nil, 2, "config " + badType},
		{"missing config", []string{"--config", filepath.Join(dir, "none.yaml")}, nil, 2, "no such file"},
		{"bad env", nil, []string{"SHARDINIT_WORKERS=many"}, 2, "SHARDINIT_WORKERS"},
		{"bad stop signal", []string{"--stop-signal", "SIGNOPE"}, nil, 2, `stop-signal: signal "SIGNOPE"`},
		{"bad restart", []string{"--restart", "sometimes"}, nil, 2, `restart "sometimes"`},
		{"bad sockets", []string{"--sockets", "many"}, nil, 2, `sockets "many"`},
		{"port in use", []string{"--listen", "http=" + busy.Addr().String()}, nil, 1, "bind " + busy.Addr().String() + ": address already in use"},
		{"health port in use", []string{"--health-addr", busy.Addr().String()}, nil, 1, "health-addr: bind " + busy.Addr().String() + ": address already in use"},
		{"negative health-wait", []string{"--health-wait", "-1s"}, nil, 2, "health-wait -1s: must not be negative"},
		{"negative drain-delay", []string{"--drain-delay", "-1s"}, nil, 2, "drain-delay -1s: must not be negative"},
		{"zero stop-timeout", []string{"--stop-timeout", "0s"}, nil, 2, "stop-timeout 0s: must be positive"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := startShardinit(t, start{env: c.env}, append(c.args, append([]string{"--"}, cmd...)...)...)
			if code := in.wait(10 * time.Second); code != c.code {
				t.Errorf("exit code %d, want %d", code, c.code)
			}
			out := in.log.String()
			if n := strings.Count(out, "\n"); n != 1 {
				t.Errorf("stderr has %d lines, want 1:\n%s", n, out)
			}
			if !strings.HasPrefix(out, "shardinit: ") || !strings.Contains(out, c.want) {
				t.Errorf("stderr %q, want a line with %q", out, c.want)
			}
		})
	}
}

func TestNoCommand(t *testing.T) {
	t.Parallel()
	in := startShardinit(t, start{}, "--health-addr", "")
	if code := in.wait(10 * time.Second); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if out := in.log.String(); !strings.Contains(out, spawn.ErrNoCommand.Error()) {
		t.Errorf("stderr %q, want %q", out, spawn.ErrNoCommand)
	}
}

// Precedence: flags > environment > YAML file > defaults.
func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "shardinit.yaml")
	os.WriteFile(file, []byte("workers: 2\nstop-timeout: 3s\nlisten: [\"web=:9000\"]\ncommand: [\"server\", \"--port\", \"9000\"]\n"), 0o644)
	cpus, _ := spawn.DetectCPUs()
	cases := []struct {
		args []string
		env  []string
		want map[string]string
	}{
		{nil, nil, map[string]string{"workers": fmt.Sprint(cpus.Workers()), "stop-timeout": "10s", "health-addr": ":8081"}},
		{[]string{"--config", file}, nil, map[string]string{"workers": "2", "stop-timeout": "3s", "- web=": ":9000", "- server": ""}},
		{[]string{"--config", file}, []string{"SHARDINIT_WORKERS=3"}, map[string]string{"workers": "3", "stop-timeout": "3s"}},
		{[]string{"--config", file, "--workers", "4"}, []string{"SHARDINIT_WORKERS=3"}, map[string]string{"workers": "4"}},
		{nil, []string{"SHARDINIT_CONFIG=" + file, "SHARDINIT_STOP_TIMEOUT=5s"}, map[string]string{"workers": "2", "stop-timeout": "5s"}},
		{[]string{"--health-addr", ""}, nil, map[string]string{"health-addr": `""`}},
	}
	for _, c := range cases {
		in := startShardinit(t, start{env: c.env, stdout: &syncBuffer{}}, append([]string{"check"}, c.args...)...)
		if code := in.wait(10 * time.Second); code != 0 {
			t.Fatalf("check %v: exit code %d: %s", c.args, code, in.log.String())
		}
		out := in.cmd.Stdout.(*syncBuffer).String()
		for key, want := range c.want {
			re := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(key) + `:? ?` + regexp.QuoteMeta(want) + `$`)
			if !re.MatchString(out) {
				t.Errorf("check %v env %v: want %s %s in:\n%s", c.args, c.env, key, want, out)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	in := startShardinit(t, start{stdout: out}, "version")
	if code := in.wait(10 * time.Second); code != 0 || !strings.HasPrefix(out.String(), "shardinit ") {
		t.Errorf("version: exit %d, output %q", code, out.String())
	}
}

// --help shows the defaults shardinit applies, not the flags' zero values.
func TestHelpShowsDefaults(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	in := startShardinit(t, start{stdout: out}, "--help")
	if code := in.wait(10 * time.Second); code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	for _, want := range []string{"(default: 10s) [$SHARDINIT_STOP_TIMEOUT]", "(default: per-worker) [$SHARDINIT_SOCKETS]",
		"(default: 5) [$SHARDINIT_MAX_RESTARTS]", "(default: :8081) [$SHARDINIT_HEALTH_ADDR]", "(default: 0s) [$SHARDINIT_DRAIN_DELAY]"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not say %q:\n%s", want, out.String())
		}
	}
}

// The default worker count follows the container's CPU limit: a cgroup v1
// cpu controller quota, as these machines and many clusters have.
func TestWorkersFollowCPULimit(t *testing.T) {
	t.Parallel()
	cpus, _ := spawn.DetectCPUs()
	for quota, want := range map[int]int{50_000: 1, 150_000: min(2, cpus.Cpuset)} {
		dir := cpuCgroup(t, quota)
		out := &syncBuffer{}
		in := startShardinit(t, start{stdout: out, launch: []string{"launch-in-cgroup", dir}}, "check", "--", "server")
		if code := in.wait(10 * time.Second); code != 0 {
			t.Fatalf("check: exit code %d: %s", code, in.log.String())
		}
		if !strings.Contains(out.String(), fmt.Sprintf("workers: %d\n", want)) {
			t.Errorf("quota %dus per 100ms: want %d workers in:\n%s", quota, want, out.String())
		}
	}
}

// cpuCgroup makes a cgroup v1 cpu cgroup with quota (per 100 ms period),
// removed when the test ends.
func cpuCgroup(t *testing.T, quota int) string {
	t.Helper()
	root := "/sys/fs/cgroup/cpu"
	dir := filepath.Join(root, fmt.Sprintf("shardinit-test-%d-%d", os.Getpid(), quota))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot make a cgroup v1 cpu cgroup here (%v): the CPU limit is tested on fixtures only", err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	for file, v := range map[string]int{"cpu.cfs_period_us": 100_000, "cpu.cfs_quota_us": quota} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(strconv.Itoa(v)), 0o644); err != nil {
			t.Skipf("cannot set %s: %v", file, err)
		}
	}
	return dir
}
