package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Config is every setting of a run. The YAML keys are the flag names.
type Config struct {
	Listen        []string `json:"listen,omitempty"`
	Workers       int      `json:"workers"`
	MaxWorkers    int      `json:"max-workers"`
	Sockets       string   `json:"sockets"`
	Backlog       int      `json:"backlog"`
	DeferAccept   Duration `json:"defer-accept"`
	FastOpen      int      `json:"fastopen"`
	BindToDevice  string   `json:"bind-to-device"`
	StopSignal    string   `json:"stop-signal"`
	StopTimeout   Duration `json:"stop-timeout"`
	DrainDelay    Duration `json:"drain-delay"`
	Restart       string   `json:"restart"`
	MaxRestarts   int      `json:"max-restarts"`
	RestartWindow Duration `json:"restart-window"`
	User          string   `json:"user"`
	Preload       bool     `json:"preload"`
	SignalMap     string   `json:"signal-map"`
	SuccessCodes  []int    `json:"success-exit-codes,omitempty"`
	RestartSurge  int      `json:"restart-surge"`
	ReadyTimeout  Duration `json:"ready-timeout"`
	ReadyOn       string   `json:"ready-on"`
	MinReady      int      `json:"min-ready"`
	Watchdog      Duration `json:"watchdog"`
	NotifyDir     string   `json:"notify-dir"`
	StuckTimeout  Duration `json:"stuck-timeout"`
	OnStuck       string   `json:"on-stuck"`
	HealthAddr    string   `json:"health-addr"`
	HealthWait    Duration `json:"health-wait"`
	LogFormat     string   `json:"log-format"`
	LogLevel      string   `json:"log-level"`
	// Command runs when none is given after "--".
	Command []string `json:"command,omitempty"`
}

// defaults are the values of every setting nobody set.
func defaults() Config {
	return Config{
		Sockets:       "per-worker",
		StopSignal:    "TERM",
		StopTimeout:   Duration(10 * time.Second),
		Restart:       "always",
		MaxRestarts:   5,
		RestartWindow: Duration(time.Minute),
		RestartSurge:  1,
		ReadyTimeout:  Duration(time.Minute),
		ReadyOn:       "accept",
		StuckTimeout:  Duration(30 * time.Second),
		OnStuck:       "restart",
		HealthAddr:    ":8081",
		LogFormat:     "text",
		LogLevel:      "info",
	}
}

// usageError is bad input from the user: shardinit exits 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// Duration reads "10s" or "1m30s" from YAML (and a bare number as seconds).
type Duration time.Duration

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if json.Unmarshal(b, &secs) != nil {
			return errors.New(`duration must be a string such as "10s" or a number of seconds`)
		}
		ns := secs * float64(time.Second)
		if !(ns > math.MinInt64 && ns < math.MaxInt64) { // the float's bounds: -2⁶³ and 2⁶³
			return fmt.Errorf("%s seconds is out of range (a duration is at most about 292 years)", strconv.FormatFloat(secs, 'g', -1, 64))
		}
		*d = Duration(ns)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: want a value such as 500ms, 10s or 1m", s)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// yamlType names a Go field type the way a YAML author thinks of it.
func yamlType(goType string) string {
	switch goType {
	case "int":
		return "a whole number"
	case "[]int":
		return "a list of whole numbers"
	case "string":
		return "a string"
	case "[]string":
		return "a list of strings"
	case "bool":
		return "true or false"
	}
	return goType
}
