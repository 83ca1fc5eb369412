//go:build !linux

package health

// selfStartTicks is unknown without Linux's /proc: clients skip the check.
var selfStartTicks uint64
