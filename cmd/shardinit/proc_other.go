//go:build !linux

package main

import "github.com/shardinit/shardinit/pkg/spawn"

// parentOf needs Linux's /proc.
func parentOf(int) (int, error) { return 0, spawn.ErrNotSupported }

// startTicksOf needs Linux's /proc.
func startTicksOf(int) (uint64, error) { return 0, spawn.ErrNotSupported }
