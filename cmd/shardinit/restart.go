package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/shardinit/shardinit/pkg/health"
	"github.com/shardinit/shardinit/pkg/spawn"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// restartCommand asks a running shardinit for a rolling restart: it sends
// the signal that shardinit maps to restart (SIGHUP by default).
var restartCommand = &cli.Command{
	Name:  "restart",
	Usage: "roll the workers of a running shardinit, slot by slot (as SIGHUP does)",
	UsageText: "shardinit restart [--health-addr ADDR] [--config FILE]   # in the container: kubectl exec POD -- /shardinit restart\n" +
		"   shardinit restart --pid PID",
	Flags: []cli.Flag{configFlag, healthAddrFlag(),
		&cli.IntFlag{Name: "pid", Usage: "signal this shardinit instead of asking --health-addr"}},
	Action: func(c *cli.Context) error {
		pid, sig, err := restartTarget(c)
		if err != nil {
			return err
		}
		if err := unix.Kill(pid, sig); err != nil {
			return fmt.Errorf("restart: kill %d %s: %w", pid, spawn.SignalName(sig), err)
		}
		fmt.Fprintf(c.App.Writer, "sent %s to shardinit (pid %d): the workers roll; watch shardinit status\n", spawn.SignalName(sig), pid)
		return nil
	},
	OnUsageError: onUsageError,
}

// restartTarget finds the PID and the signal: from --pid and this
// configuration's signal map, or from the running shardinit's /status.
func restartTarget(c *cli.Context) (int, unix.Signal, error) {
	vals, err := resolve(c)
	if err != nil {
		return 0, 0, err
	}
	addr := vals["health-addr"].text
	if pid := c.Int("pid"); pid > 0 {
		m, err := spawn.ParseSignalMap(vals["signal-map"].text)
		if err != nil {
			return 0, 0, usageError{err}
		}
		if m.RestartSignal() == 0 {
			return 0, 0, usagef("restart: no signal maps to restart (see --signal-map)")
		}
		return pid, m.RestartSignal(), checkShardinit(pid)
	}
	r, err := fetchStatus(addr)
	if err != nil {
		return 0, 0, err
	}
	if r.RestartSignal == "" {
		return 0, 0, fmt.Errorf("restart: shardinit (pid %d) maps no signal to restart (see --signal-map)", r.PID)
	}
	sig, err := spawn.ParseSignal(r.RestartSignal)
	if err != nil {
		return 0, 0, fmt.Errorf("restart: %w", err)
	}
	if err := checkAnswerer(r, addr); err != nil {
		return 0, 0, fmt.Errorf("restart: %w", err)
	}
	return r.PID, sig, checkShardinit(r.PID)
}

// checkAnswerer makes sure the shardinit that answered on addr is the one
// with its PID here. On a node's network two pods can meet on one health
// port: a replacement waits for it (--health-wait) while the old pod still
// answers, and both shardinits are PID 1 of their own containers.
func checkAnswerer(r health.Report, addr string) error {
	if r.StartTicks == 0 {
		return nil // an older shardinit, or no /proc there: nothing to compare
	}
	ticks, err := startTicksOf(r.PID)
	if err == nil && ticks == r.StartTicks {
		return nil
	}
	return fmt.Errorf("the shardinit answering on %s is not pid %d here: another container holds the health port "+
		"(the pod this one replaces?); try again once it has exited", addr, r.PID)
}

// checkShardinit refuses to signal a PID that is not a shardinit here: the
// PID /status reports is the one in shardinit's PID namespace, which from
// outside its container names some other process.
func checkShardinit(pid int) error {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err == nil && strings.Contains(filepath.Base(exe), "shardinit") {
		return nil
	}
	return fmt.Errorf("restart: pid %d is not a shardinit in this PID namespace; run shardinit restart inside its container, or give --pid", pid)
}
