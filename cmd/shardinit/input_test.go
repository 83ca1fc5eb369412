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

	"github.com/shardinit/shardinit/pkg/cpus"
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
	dup := filepath.Join(dir, "dup.yaml")
	os.WriteFile(dup, []byte("workers: 2\nworkers: 3\n"), 0o644)
	wrongCase := filepath.Join(dir, "case.yaml")
	os.WriteFile(wrongCase, []byte("Workers: 2\n"), 0o644)
	huge := filepath.Join(dir, "huge.yaml")
	os.WriteFile(huge, []byte("stop-timeout: 1e10\n"), 0o644)
	host, _ := os.Hostname() // in /etc/hosts here: were it looked up, it would bind
	p, q, r := freePort(t), freePort(t), freePort(t)
	sock := filepath.Join(dir, "s.sock")
	cmd := worker("http")
	cases := []struct {
		name string
		args []string
		env  []string
		code int
		want string
	}{
		{"unknown flag", []string{"--bogus"}, nil, 2, "unknown flag --bogus (see shardinit --help)"},
		{"misspelt flag", []string{"--wrokers", "2"}, nil, 2, "unknown flag --wrokers: did you mean --workers?"},
		{"misspelt flag, one dash", []string{"-stop-timout=2s"}, nil, 2, "unknown flag -stop-timout: did you mean --stop-timeout?"},
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
		{"health-addr no port", []string{"--health-addr", "bogus"}, nil, 2, `health-addr "bogus": missing port`},
		{"health-addr port range", []string{"--health-addr", "127.0.0.1:99999"}, nil, 2, `health-addr "127.0.0.1:99999": port "99999" is not a number from 0 to 65535`},
		{"health-addr unix", []string{"--health-addr", "unix:///tmp/h.sock"}, nil, 2, `health-addr "unix:///tmp/h.sock": unix sockets are not supported for the health address (want host:port or :port)`},
		{"health-addr host name", []string{"--health-addr", host + ":" + strconv.Itoa(q)}, nil, 2, `health-addr "` + host + ":" + strconv.Itoa(q) + `": host "` + host + `" is not an IP address`},
		{"same port twice", []string{"--listen", "a=127.0.0.1:" + strconv.Itoa(q), "--listen", "b=127.0.0.1:" + strconv.Itoa(q)}, nil, 2,
			"listen a=127.0.0.1:" + strconv.Itoa(q) + " and b=127.0.0.1:" + strconv.Itoa(q) + ": both on port " + strconv.Itoa(q)},
		{"dual-stack and IPv4 wildcard", []string{"--listen", "a=[::]:" + strconv.Itoa(r), "--listen", "b=0.0.0.0:" + strconv.Itoa(r)}, nil, 2, "both on port " + strconv.Itoa(r)},
		{"IPv4 wildcard and loopback", []string{"--listen", "a=0.0.0.0:" + strconv.Itoa(r), "--listen", "b=127.0.0.1:" + strconv.Itoa(r)}, nil, 2, "both on port " + strconv.Itoa(r)},
		{"health-addr on a listener's port", []string{"--health-addr", "127.0.0.1:" + strconv.Itoa(p)}, nil, 2,
			"health-addr 127.0.0.1:" + strconv.Itoa(p) + " and listen probe=127.0.0.1:" + strconv.Itoa(p) + ": both on port " + strconv.Itoa(p)},
		{"health-addr wildcard on a listener's port", []string{"--health-addr", ":" + strconv.Itoa(p)}, nil, 2, "both on port " + strconv.Itoa(p)},
		{"backlog beyond a C int", []string{"--backlog", "4294967296"}, nil, 2, "backlog 4294967296: more than the kernel takes (at most 2147483647)"},
		{"fastopen beyond a C int", []string{"--fastopen", "4294967297"}, nil, 2, "fastopen 4294967297: more than the kernel takes (at most 2147483647)"},
		{"defer-accept beyond a C int", []string{"--defer-accept", "600000h"}, nil, 2, "defer-accept 600000h: more than the kernel takes (at most 2147483647s)"},
		{"same unix socket twice", []string{"--listen", "a=unix://" + sock, "--listen", "b=unix://" + sock}, nil, 2,
			"listen a=unix://" + sock + " and b=unix://" + sock + ": both on socket " + sock},
		{"stop-signal STOP", []string{"--stop-signal", "STOP"}, nil, 2, "stop-signal SIGSTOP: it suspends the process"},
		{"stop-signal KILL", []string{"--stop-signal", "KILL"}, nil, 2, "stop-signal SIGKILL: it cannot be caught"},
		{"stop-signal 32", []string{"--stop-signal", "32"}, nil, 2, "stop-signal 32: it belongs to the C library"},
		{"stop-signal TSTP", []string{"--stop-signal", "TSTP"}, nil, 2, "stop-signal SIGTSTP: it suspends the process"},
		{"stop-signal CONT", []string{"--stop-signal", "CONT"}, nil, 2, "stop-signal SIGCONT: it is ignored"},
		{"stop-signal URG", []string{"--stop-signal", "URG"}, nil, 2, "stop-signal SIGURG: it is the Go runtime's"},
		{"stop-signal TTIN", []string{"--stop-signal", "TTIN"}, nil, 2, "stop-signal SIGTTIN: it suspends the process"},
		{"stop-signal TTOU", []string{"--stop-signal", "ttou"}, nil, 2, "stop-signal SIGTTOU: it suspends the process"},
		{"stop-signal 33", []string{"--stop-signal", "33"}, nil, 2, "stop-signal 33: it belongs to the C library"},
		{"stop-signal CHLD", []string{"--stop-signal", "SIGCHLD"}, nil, 2, "stop-signal SIGCHLD: it is ignored"},
		{"stop-signal PROF", []string{"--stop-signal", "PROF"}, nil, 2, "stop-signal SIGPROF: it is the Go runtime's"},
		{"signal-map forward:32", []string{"--signal-map", "USR2=forward:32"}, nil, 2, `signal-map "USR2=forward:32": 32 belongs to the C library`},
		{"signal-map PROF", []string{"--signal-map", "PROF=restart"}, nil, 2, `signal-map "PROF=restart": SIGPROF is the Go runtime's`},
		{"user name with a newline", []string{"--user", "no\nbody"}, nil, 2, `user "no\nbody": no such user`},
		{"flag with a newline", []string{"--bo\ngus"}, nil, 2, `unknown flag --bo\ngus`},
		{"mistyped subcommand", []string{"stauts"}, nil, 2, `unknown command "stauts": did you mean status?`},
		{"mistyped subcommand after flags", []string{"--workers", "1", "chek"}, nil, 2, `unknown command "chek": did you mean check?`},
		{"YAML duration out of range", []string{"--config", huge}, nil, 2, `config ` + huge + `: stop-timeout 10000000000: out of range (a duration is at most about 292 years)`},
		{"YAML duplicate key", []string{"--config", dup}, nil, 2, `config ` + dup + `: line 2: key "workers" already set in map`},
		{"YAML key misspelt", []string{"--config", typo}, nil, 2, `config ` + typo + `: unknown key "wrokers" (did you mean workers?)`},
		{"YAML key in the wrong case", []string{"--config", wrongCase}, nil, 2, `config ` + wrongCase + `: unknown key "Workers" (keys are lower case: workers)`},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// Each case also has a good listener on p (the health address is
			// off unless the case sets it): bad input must leave it unbound.
			// A port in use is found by binding, so those cases bind theirs.
			probe := p
			if c.code != 2 {
				probe = freePort(t)
			}
			args := append([]string{"--health-addr", "", "--listen", "probe=127.0.0.1:" + strconv.Itoa(probe)}, c.args...)
			args = append(append(args, "--"), cmd...)
			token := fmt.Sprintf("BAD_INPUT_TOKEN=%d-%d", os.Getpid(), i)
			env := append([]string{token}, c.env...)
			wantOneLine(t, startShardinit(t, start{env: env}, args...), c.code, c.want)
			if leftover := processesWith(token); len(leftover) > 0 {
				t.Errorf("processes left running: %v", leftover)
			}
			portFree(t, probe)
			// check finds the same problem (a port in use is found by binding).
			if c.code == 2 {
				wantOneLine(t, startShardinit(t, start{env: env}, append([]string{"check"}, args...)...), 2, c.want)
			}
		})
	}
}

// wantOneLine waits for shardinit to exit with code and one line on
// stderr that holds want.
func wantOneLine(t *testing.T, in *instance, code int, want string) {
	t.Helper()
	if got := in.wait(10 * time.Second); got != code {
		t.Errorf("%v: exit code %d, want %d", in.cmd.Args[2:], got, code)
	}
	out := in.log.String()
	if n := strings.Count(out, "\n"); n != 1 {
		t.Errorf("stderr has %d lines, want 1:\n%s", n, out)
	}
	if !strings.HasPrefix(out, "shardinit: ") || !strings.Contains(out, want) {
		t.Errorf("stderr %q, want a line with %q", out, want)
	}
}

// portFree fails the test if something listens on 127.0.0.1:port.
func portFree(t *testing.T, port int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Errorf("port %d: %v", port, err)
		return
	}
	l.Close()
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
	budget, _ := cpus.Detect()
	cases := []struct {
		args []string
		env  []string
		want map[string]string
	}{
		{nil, nil, map[string]string{"workers": fmt.Sprint(budget.Workers()), "stop-timeout": "10s", "health-addr": ":8081"}},
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
	budget, _ := cpus.Detect()
	for quota, want := range map[int]int{50_000: 1, 150_000: min(2, budget.Cpuset)} {
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

// Near misses of bad input are good input: shardinit check passes them.
func TestCheckAcceptsNearMisses(t *testing.T) {
	t.Parallel()
	p := strconv.Itoa(freePort(t))
	for _, args := range [][]string{
		{"--stop-signal", "WINCH"},
		{"--stop-signal", "RTMIN+3", "--signal-map", "RTMIN+3=forward,USR1=forward:RTMIN+2"},
		{"--listen", "a=127.0.0.1:" + p, "--listen", "b=127.0.0.2:" + p},
		{"--listen", "a=[::1]:" + p, "--listen", "b=127.0.0.1:" + p},
		{"--listen", "a=tcp6://[::]:" + p, "--listen", "b=0.0.0.0:" + p},
		{"--listen", "a=127.0.0.1:0", "--listen", "b=127.0.0.1:0", "--health-addr", "127.0.0.1:0"},
		{"--listen", "a=127.0.0.1:" + p, "--health-addr", "localhost:" + strconv.Itoa(freePort(t))},
		{"--backlog", "2147483647", "--fastopen", "2147483647"},
	} {
		out := &syncBuffer{}
		in := startShardinit(t, start{stdout: out}, append(append([]string{"check"}, args...), "--", "server")...)
		if code := in.wait(10 * time.Second); code != 0 || !strings.HasSuffix(out.String(), "# configuration ok\n") {
			t.Errorf("check %v: exit code %d, want 0: %s", args, code, in.log.String())
		}
	}
}

// A program named like a subcommand runs when it comes after "--".
func TestProgramNamedLikeSubcommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "stauts"), []byte("#!/bin/sh\nexit 7\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + dir + ":" + os.Getenv("PATH")}
	in := startShardinit(t, start{env: env}, "--health-addr", "", "--workers", "1", "--restart", "never", "--", "stauts")
	if code := in.wait(10 * time.Second); code != 7 {
		t.Errorf("shardinit -- stauts: exit code %d, want 7 (the program's)", code)
	}
}
