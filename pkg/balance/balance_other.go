//go:build !linux

package balance

import (
	"context"
	"errors"
)

// Run needs Linux's SO_REUSEPORT steering and /proc.
func Run(ctx context.Context, cfg Config) error { return errors.ErrUnsupported }
