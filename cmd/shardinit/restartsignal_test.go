package main

import (
	"testing"
	"time"
)

// A real-time restart signal is in /status as SIGRTMIN+3, which shardinit
// restart reads back (it used to say "signal 37", which it could not).
func TestRestartCommandRealTimeSignal(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	in, port := startPool(t, start{}, 1, append(p.flag(), "--signal-map", "RTMIN+3=restart,HUP=forward"), "http")
	if r := p.status(); r.RestartSignal != "SIGRTMIN+3" {
		t.Errorf("/status restart_signal = %q, want SIGRTMIN+3", r.RestartSignal)
	}
	before := slotsOf(p.status())
	cmd := startShardinit(t, start{stdout: &syncBuffer{}}, "restart", "--health-addr", p.addr)
	if code := cmd.wait(10 * time.Second); code != 0 {
		t.Fatalf("shardinit restart: exit %d: %s", code, cmd.log.String())
	}
	eventually(t, 20*time.Second, "the worker rolled", func() bool { return settled(p.status(), before) })
	slotPIDs(t, port, 1) // the successor serves (and handles SIGTERM) before the stop
	in.stopCleanly()
}
