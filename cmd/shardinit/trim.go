package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/shardinit/shardinit/internal/procstat"
	"github.com/shardinit/shardinit/pkg/spawn"
)

// dropPagesOnceReady gives back the pages the start touched
// (dropStartupPages) once the pool has been ready, when the start is
// over, or after a minute at the most.
func dropPagesOnceReady(ctx context.Context, pool *spawn.Pool, log *slog.Logger) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	giveUp := time.After(time.Minute)
	for ready := false; !ready; {
		select {
		case <-ctx.Done():
			return
		case <-giveUp:
			ready = true
		case <-tick.C:
			st, known := pool.Snapshot()
			ready = known && st.Ready()
		}
	}
	before := residentBytes()
	advised, err := dropStartupPages()
	log.Debug("start-up pages given back", "advised_bytes", advised, "resident_bytes_before", before, "resident_bytes_after", residentBytes(), "err", err)
}

// residentBytes is shardinit's resident memory, 0 when unknown.
func residentBytes() uint64 {
	st, err := procstat.Read(0)
	if err != nil {
		return 0
	}
	u, _ := st.Usage()
	return u.ResidentBytes
}
