package main

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/shardinit/shardinit/pkg/health"
	"github.com/shardinit/shardinit/pkg/spawn"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// signalCommand sends a signal to the workers of a running shardinit. An
// image built FROM scratch has no kill(1): this is how an operator asks a
// worker for a stack dump (QUIT) or pauses one (STOP, CONT) to see how a
// stuck worker is handled.
var signalCommand = &cli.Command{
	Name:  "signal",
	Usage: "send a signal to the workers of a running shardinit: every slot's, or the given slots'",
	UsageText: "shardinit signal [--health-addr ADDR] [--config FILE] SIGNAL [SLOT...]\n" +
		"   # in the container: kubectl exec POD -- /shardinit signal QUIT 0",
	Flags: []cli.Flag{configFlag, healthAddrFlag()},
	Action: func(c *cli.Context) error {
		sig, slots, err := parseSignalArgs(c.Args().Slice())
		if err != nil {
			return err
		}
		vals, err := resolve(c)
		if err != nil {
			return err
		}
		addr := vals["health-addr"].text
		r, err := fetchStatus(addr)
		if err != nil {
			return err
		}
		workers, err := signalTargets(r, slots)
		if err != nil {
			return err
		}
		if err := checkAnswerer(r, addr); err != nil {
			return fmt.Errorf("signal: %w", err)
		}
		// Every PID is checked before any is signalled: a refusal sends nothing.
		if err := checkWorkers(r.PID, workers); err != nil {
			return err
		}
		for _, w := range workers {
			if err := unix.Kill(w.PID, sig); err != nil {
				return fmt.Errorf("signal: kill %d %s (slot %d): %w", w.PID, spawn.SignalName(sig), w.Slot, err)
			}
			fmt.Fprintf(c.App.Writer, "sent %s to slot %d (pid %d)\n", spawn.SignalName(sig), w.Slot, w.PID)
		}
		return nil
	},
	OnUsageError: onUsageError,
}

// parseSignalArgs reads SIGNAL [SLOT...].
func parseSignalArgs(args []string) (unix.Signal, []int, error) {
	if len(args) == 0 {
		return 0, nil, usagef("signal: no SIGNAL given (shardinit signal SIGNAL [SLOT...])")
	}
	sig, err := spawn.ParseSignal(args[0])
	if err != nil {
		return 0, nil, usageError{err}
	}
	var slots []int
	for _, a := range args[1:] {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 {
			return 0, nil, usagef("signal: slot %q: want a slot number (0, 1, …)", a)
		}
		if !slices.Contains(slots, n) {
			slots = append(slots, n)
		}
	}
	return sig, slots, nil
}

// signalTargets picks the current worker of each slot named, or of every
// slot that has one when none is named. A worker being replaced (stuck, or
// in a roll) is not the slot's current worker and is left alone.
func signalTargets(r health.Report, slots []int) ([]health.SlotReport, error) {
	if len(slots) == 0 {
		var running []health.SlotReport
		for _, sl := range r.Slots {
			if sl.PID != 0 {
				running = append(running, sl)
			}
		}
		if len(running) == 0 {
			return nil, fmt.Errorf("signal: shardinit (pid %d) has no worker running", r.PID)
		}
		return running, nil
	}
	var picked []health.SlotReport
	for _, n := range slots {
		i := slices.IndexFunc(r.Slots, func(sl health.SlotReport) bool { return sl.Slot == n })
		switch {
		case i < 0:
			return nil, usagef("signal: no slot %d: shardinit (pid %d) has %d slots, numbered from 0", n, r.PID, len(r.Slots))
		case r.Slots[i].PID == 0:
			return nil, fmt.Errorf("signal: slot %d has no worker now (%s)", n, r.Slots[i].State)
		}
		picked = append(picked, r.Slots[i])
	}
	return picked, nil
}

// checkWorkers refuses a PID that is not a child of shardinit here. /status
// reports PIDs in shardinit's PID namespace; from outside its container
// they name other processes.
func checkWorkers(shardinit int, workers []health.SlotReport) error {
	for _, w := range workers {
		ppid, err := parentOf(w.PID)
		if err != nil {
			return fmt.Errorf("signal: slot %d (pid %d): %w; run shardinit signal inside shardinit's container", w.Slot, w.PID, err)
		}
		if ppid != shardinit {
			return fmt.Errorf("signal: pid %d (slot %d) is not a child of shardinit (pid %d) in this PID namespace; run shardinit signal inside its container",
				w.PID, w.Slot, shardinit)
		}
	}
	return nil
}
