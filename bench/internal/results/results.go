// Package results is the schema of bench/results.json, shared by the
// runner (bench/cmd/runner) that writes it and the report (bench/cmd/report)
// that turns it into docs/benchmarks.md.
package results

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"time"
)

// File is bench/results.json.
type File struct {
	Machine  Machine   `json:"machine"`
	Settings Settings  `json:"settings"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Sections lists the sections run, in order.
	Sections []string `json:"sections"`
	// Seconds is how long each section took.
	Seconds map[string]float64 `json:"seconds"`
	// Measurements hold every number, one value per run.
	Measurements []Measurement `json:"measurements"`
	// Skipped names what was not measured, and why.
	Skipped []Skip `json:"skipped,omitempty"`
	// Notes are facts found while running (calibrated rates, versions).
	Notes []Note `json:"notes,omitempty"`
}

// Machine is printed beside every figure.
type Machine struct {
	Cores     int     `json:"cores"`
	CPU       string  `json:"cpu"`
	Kernel    string  `json:"kernel"`
	OS        string  `json:"os"`
	MemoryMiB int     `json:"memory_mib"`
	Go        string  `json:"go"`
	Load      float64 `json:"load_average_at_start"`
	// Tools are the versions of the load generators and runtimes used.
	Tools map[string]string `json:"tools"`
	// Commit is `git describe --always --dirty` of the tree measured.
	Commit string `json:"commit"`
}

// Settings are the knobs of the run.
type Settings struct {
	Runs        int     `json:"runs"`
	DurationS   float64 `json:"duration_s"`
	WarmupS     float64 `json:"warmup_s"`
	BalanceS    float64 `json:"balance_s"`
	Smoke       bool    `json:"smoke"`
	Workers     int     `json:"workers"`
	Connections int     `json:"connections"`
	Threads     int     `json:"threads"`
	GoRounds    int     `json:"go_rounds"`
	NodeRounds  int     `json:"node_rounds"`
	PyRounds    int     `json:"python_rounds"`
	LatencyLoad float64 `json:"latency_load"`
	StartN      []int   `json:"start_n"`
	Orphans     int     `json:"orphans"`
	Preload     bool    `json:"preload"`
}

// Measurement is one metric of one case: a value per run.
type Measurement struct {
	Section string `json:"section"`
	// Group is one table (and chart): cases measured under the same load.
	Group string `json:"group"`
	Case  string `json:"case"`
	// Metric names the column, Unit its unit.
	Metric string    `json:"metric"`
	Unit   string    `json:"unit"`
	Values []float64 `json:"values"`
	// Better is "higher", "lower" or "" (neither).
	Better string `json:"better,omitempty"`
	Note   string `json:"note,omitempty"`
}

// Skip is a case or section not measured.
type Skip struct {
	Section string `json:"section"`
	What    string `json:"what"`
	Why     string `json:"why"`
}

// Note is a fact of the run worth printing beside a section.
type Note struct {
	Section string `json:"section"`
	Text    string `json:"text"`
}

// Median of the values (NaN when there are none).
func Median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// MinMax of the values (NaN when there are none).
func MinMax(v []float64) (float64, float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	return slices.Min(v), slices.Max(v)
}

// Find returns the measurement of a section, group, case and metric.
func (f *File) Find(section, group, cas, metric string) *Measurement {
	for i := range f.Measurements {
		m := &f.Measurements[i]
		if m.Section == section && m.Group == group && m.Case == cas && m.Metric == metric {
			return m
		}
	}
	return nil
}

// Add appends value to the measurement of section, group, case and metric,
// creating it.
func (f *File) Add(section, group, cas, metric, unit, better string, value float64) {
	if m := f.Find(section, group, cas, metric); m != nil {
		m.Values = append(m.Values, value)
		return
	}
	f.Measurements = append(f.Measurements, Measurement{Section: section, Group: group, Case: cas,
		Metric: metric, Unit: unit, Better: better, Values: []float64{value}})
}

// Read loads a results file.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// Write saves a results file atomically. Values must be finite: JSON has
// no NaN or Inf, and the runner never stores them.
func (f *File) Write(path string) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Loadgen is what bench/cmd/loadgen prints: one constant-rate run.
type Loadgen struct {
	Rate      float64        `json:"rate"`
	Due       int            `json:"due"`
	Done      int            `json:"done"`
	Errors    map[string]int `json:"errors"`
	Achieved  float64        `json:"achieved_rps"`
	MeanMs    float64        `json:"mean_ms"`
	P50Ms     float64        `json:"p50_ms"`
	P90Ms     float64        `json:"p90_ms"`
	P99Ms     float64        `json:"p99_ms"`
	P999Ms    float64        `json:"p999_ms"`
	MaxMs     float64        `json:"max_ms"`
	Unstarted int            `json:"unstarted"`
}
