package main

import (
	"context"
	"log/slog"

	"github.com/shardinit/shardinit/pkg/balance"
	"github.com/shardinit/shardinit/pkg/listen"
	"github.com/shardinit/shardinit/pkg/spawn"
)

// startBalancer steers new connections by load with --sockets balanced,
// until ctx ends.
func startBalancer(ctx context.Context, p plan, set *listen.Set, pool *spawn.Pool, log *slog.Logger) {
	if p.sockets.Mode != listen.Balanced {
		return
	}
	cfg := balance.Config{Shards: set, Workers: poolWorkers(pool), Interval: p.balanceIn, Logger: log, Registerer: p.registry}
	go func() {
		if err := balance.Run(ctx, cfg); err != nil {
			log.Warn("steering by load is off", "err", err)
		}
	}()
}

// poolWorkers tells the balancer each slot's worker, and to hold off
// while the pool steers new connections itself or is not running. Its
// slice is reused: the balancer reads it before it asks again.
func poolWorkers(pool *spawn.Pool) balance.Workers {
	var pids []int
	return func() ([]int, bool) {
		st, known := pool.Snapshot()
		if !known {
			return nil, true
		}
		pids = pids[:0]
		for _, sl := range st.Slots {
			pids = append(pids, sl.PID)
		}
		return pids, st.Phase != spawn.Running || st.Changing
	}
}
