package spawn

import "time"

// DurationBuckets are the upper bounds, in seconds, of every Histogram:
// from a worker seen accepting within milliseconds to a roll of many
// slots that each drain for a while.
var DurationBuckets = [...]float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// Histogram counts durations into DurationBuckets. It is a value (an
// array, no slice), so a snapshot copies it whole and compares it with ==.
type Histogram struct {
	// Counts holds, per bucket, the durations up to its bound and above
	// the one before; those above the last bound are only in Count.
	Counts [len(DurationBuckets)]uint64
	Count  uint64
	Sum    float64 // seconds
}

func (h *Histogram) observe(d time.Duration) {
	v := d.Seconds()
	for i, bound := range DurationBuckets {
		if v <= bound {
			h.Counts[i]++
			break
		}
	}
	h.Count++
	h.Sum += v
}

// Cumulative is the count up to each bound, as Prometheus has it.
func (h Histogram) Cumulative() map[float64]uint64 {
	out, n := make(map[float64]uint64, len(DurationBuckets)), uint64(0)
	for i, bound := range DurationBuckets {
		n += h.Counts[i]
		out[bound] = n
	}
	return out
}
