//go:build !linux

package main

// dropStartupPages does nothing where there is no madvise to ask.
func dropStartupPages() (int, error) { return 0, nil }
