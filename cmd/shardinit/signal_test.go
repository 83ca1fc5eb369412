package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shardinit/shardinit/pkg/health"
	"github.com/shardinit/shardinit/pkg/spawn"
)

// shardinit signal finds the workers through /status: STOP pauses every
// slot's worker, CONT with a slot resumes that one only.
func TestSignalCommand(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, port := startPool(t, start{}, 2, p.flag(), "http")
	pids := slotsOf(p.status())

	code, out, errOut := runSignal(t, p, "STOP")
	want := fmt.Sprintf("sent SIGSTOP to slot 0 (pid %d)\nsent SIGSTOP to slot 1 (pid %d)\n", pids[0], pids[1])
	if code != 0 || out != want {
		t.Fatalf("shardinit signal STOP: exit %d, said %q, want 0 and %q; stderr %q", code, out, want, errOut)
	}
	for slot, pid := range pids {
		eventually(t, 5*time.Second, fmt.Sprintf("slot %d's worker %d to stop", slot, pid), func() bool { return procState(pid) == "T" })
	}

	if code, out, errOut := runSignal(t, p, "CONT", "1"); code != 0 || out != fmt.Sprintf("sent SIGCONT to slot 1 (pid %d)\n", pids[1]) {
		t.Fatalf("shardinit signal CONT 1: exit %d, said %q; stderr %q", code, out, errOut)
	}
	eventually(t, 5*time.Second, "slot 1's worker to run again", func() bool { return procState(pids[1]) != "T" })
	if state := procState(pids[0]); state != "T" {
		t.Errorf("slot 0's worker is in state %q after CONT to slot 1, want T (still stopped)", state)
	}

	if code, _, errOut := runSignal(t, p, "CONT"); code != 0 {
		t.Fatalf("shardinit signal CONT: exit %d: %s", code, errOut)
	}
	slotPIDs(t, port, 2) // both serve again, so both handle the stop signal
	in.stopCleanly()
}

// A bad signal or slot, or a PID that is not shardinit's child here, ends
// shardinit signal with one line that names it and signals nothing.
func TestSignalCommandRefuses(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, _ := startPool(t, start{}, 2, p.flag(), "http")
	pids := slotsOf(p.status())
	// A /status whose worker is this test's parent: in no PID namespace is
	// that a child of the process /status names (this test).
	stranger := statusServer(t, health.Report{PID: os.Getpid(), Slots: []health.SlotReport{{Slot: 0, State: "ready", PID: os.Getppid()}}})
	// Another container's shardinit on the same health port: its PID is a
	// process here too, but one that started at another time.
	impostor := statusServer(t, health.Report{PID: in.cmd.Process.Pid, StartTicks: 1, Slots: []health.SlotReport{{Slot: 0, State: "ready", PID: pids[0]}}})
	for _, c := range []struct {
		p    probe
		args []string
		code int
		want string
	}{
		{p, []string{"NOPE"}, 2, `signal "NOPE": unknown signal name`},
		{p, []string{"STOP", "7"}, 2, fmt.Sprintf("signal: no slot 7: shardinit (pid %d) has 2 slots", in.cmd.Process.Pid)},
		{p, []string{"STOP", "one"}, 2, `signal: slot "one": want a slot number`},
		{p, nil, 2, "signal: no SIGNAL given"},
		{stranger, []string{"CONT"}, 1, fmt.Sprintf("signal: pid %d (slot 0) is not a child of shardinit (pid %d)", os.Getppid(), os.Getpid())},
		{impostor, []string{"STOP"}, 1, fmt.Sprintf("signal: the shardinit answering on %s is not pid %d here", impostor.addr, in.cmd.Process.Pid)},
	} {
		code, out, errOut := runSignal(t, c.p, c.args...)
		if code != c.code || out != "" {
			t.Errorf("shardinit signal %v: exit %d, said %q; want exit %d and nothing said", c.args, code, out, c.code)
		}
		if strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "shardinit: ") || !strings.Contains(errOut, c.want) {
			t.Errorf("shardinit signal %v: stderr %q, want one line with %q", c.args, errOut, c.want)
		}
	}
	for slot, pid := range pids {
		if state := procState(pid); state == "T" {
			t.Errorf("slot %d's worker %d is stopped after refused signals", slot, pid)
		}
	}
	in.stopCleanly()
}

// runSignal runs `shardinit signal --health-addr ADDR ARGS` and returns its
// exit code, stdout and stderr.
func runSignal(t *testing.T, p probe, args ...string) (int, string, string) {
	t.Helper()
	out := &syncBuffer{}
	cmd := startShardinit(t, start{stdout: out}, append([]string{"signal", "--health-addr", p.addr}, args...)...)
	code := cmd.wait(10 * time.Second)
	return code, out.String(), cmd.log.String()
}

// statusServer answers /status with r.
func statusServer(t *testing.T, r health.Report) probe {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { json.NewEncoder(w).Encode(r) }))
	t.Cleanup(srv.Close)
	return probe{t, srv.Listener.Addr().String(), client}
}

func TestSignalTargets(t *testing.T) {
	r := health.Report{PID: 1, Slots: []health.SlotReport{
		{Slot: 0, State: "ready", PID: 10}, {Slot: 1, State: "restarting"}, {Slot: 2, State: "starting", PID: 12}}}
	for _, c := range []struct {
		slots []int
		want  []int // PIDs
		err   string
	}{
		{nil, []int{10, 12}, ""},
		{[]int{2, 0}, []int{12, 10}, ""},
		{[]int{1}, nil, "slot 1 has no worker now (restarting)"},
		{[]int{3}, nil, "no slot 3: shardinit (pid 1) has 3 slots"},
	} {
		got, err := signalTargets(r, c.slots)
		var pids []int
		for _, sl := range got {
			pids = append(pids, sl.PID)
		}
		switch {
		case c.err == "" && (err != nil || !slices.Equal(pids, c.want)):
			t.Errorf("slots %v: got pids %v, %v; want %v", c.slots, pids, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("slots %v: error %v, want one with %q", c.slots, err, c.err)
		}
	}
	if _, err := signalTargets(health.Report{PID: 1, Slots: []health.SlotReport{{Slot: 0, State: "restarting"}}}, nil); err == nil {
		t.Errorf("no worker running: got no error")
	}
}

func TestParseSignalArgs(t *testing.T) {
	for _, c := range []struct {
		args  []string
		sig   string
		slots []int
		err   string
	}{
		{[]string{"QUIT", "0"}, "SIGQUIT", []int{0}, ""},
		{[]string{"SIGSTOP"}, "SIGSTOP", nil, ""},
		{[]string{"18", "1", "0", "1"}, "SIGCONT", []int{1, 0}, ""},
		{nil, "", nil, "no SIGNAL given"},
		{[]string{"NOPE"}, "", nil, `signal "NOPE"`},
		{[]string{"STOP", "-1"}, "", nil, `slot "-1"`},
	} {
		sig, slots, err := parseSignalArgs(c.args)
		switch {
		case c.err == "" && (err != nil || spawn.SignalName(sig) != c.sig || !slices.Equal(slots, c.slots)):
			t.Errorf("%v: got %v %v, %v; want %s %v", c.args, sig, slots, err, c.sig, c.slots)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%v: error %v, want one with %q", c.args, err, c.err)
		}
	}
}
