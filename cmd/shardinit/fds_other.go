//go:build !linux

package main

import "errors"

// closeInheritedOnExec needs Linux's /proc; no pool runs elsewhere.
func closeInheritedOnExec() ([]int, error) { return nil, errors.ErrUnsupported }
