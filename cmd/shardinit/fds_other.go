//go:build !linux

package main

import "github.com/shardinit/shardinit/pkg/spawn"

// closeInheritedOnExec needs Linux's /proc; no pool runs elsewhere.
func closeInheritedOnExec() ([]int, error) { return nil, spawn.ErrNotSupported }
