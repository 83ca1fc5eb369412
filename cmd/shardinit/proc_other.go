//go:build !linux

package main

import "errors"

// parentOf needs Linux's /proc.
func parentOf(int) (int, error) { return 0, errors.ErrUnsupported }

// startTicksOf needs Linux's /proc.
func startTicksOf(int) (uint64, error) { return 0, errors.ErrUnsupported }
