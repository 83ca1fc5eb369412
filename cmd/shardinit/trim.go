package main

import (
	"context"
	"log/slog"
	"runtime/debug"
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

// afterScrapes is how long the health server must be quiet after a scrape
// (/metrics, /status) before shardinit gives back what serving it left.
const afterScrapes = time.Second

// quietTrim gives memory back once the health server has been quiet for
// afterScrapes after a scrape: the heap the answers left (a GC that
// returns free pages at once) and the code and data they mapped
// (dropStartupPages). One timer, reset by each scrape: nothing wakes
// while nobody asks. A scrape a minute costs one small GC a minute.
type quietTrim struct{ timer *time.Timer }

func newQuietTrim(log *slog.Logger) *quietTrim {
	q := &quietTrim{timer: time.AfterFunc(time.Hour, func() {
		before := residentBytes()
		debug.FreeOSMemory()
		dropStartupPages()
		log.Debug("scrapes over: memory given back", "resident_bytes_before", before, "resident_bytes_after", residentBytes())
	})}
	q.timer.Stop()
	return q
}

// scraped starts the quiet period over.
func (q *quietTrim) scraped() { q.timer.Reset(afterScrapes) }
