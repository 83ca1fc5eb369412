package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// setting is one row of the table (table.go).
type setting struct {
	name  string // the flag, the YAML key; SHARDINIT_ and upper case: the variable
	arg   string // the value's word in --help and docs/settings.md: N, DURATION, ADDR
	group string // its heading in --help
	kind  kind
	def   string // the default, as a user would write it
	shown string // the default as docs/settings.md shows it, where def says too little
	usage string // --help
	doc   string // docs/settings.md's meaning column (Markdown)
	file  bool   // a key of the file only: no flag, no variable
	set   func(p *plan, v value) error
}

// kind is how a setting's value is written and read.
type kind int

const (
	textKind     kind = iota
	numberKind        // a whole number
	durationKind      // 10s, 1m30s, or a number of seconds
	switchKind        // true or false; a flag without a value
	listKind          // repeatable; comma-separated in a variable
	sizeKind          // bytes: 268435456, 256Mi, 1.5G
)

// value is a setting's value as given, and where it came from: a flag or
// the default (neither named), a variable, or the file.
type value struct {
	text string
	list []string
	env  string // the variable it came from
	file string // the file it came from
}

// values are the resolved settings by name: defaults < file < environment
// < flags.
type values map[string]value

// envOf is a setting's variable: stop-timeout → SHARDINIT_STOP_TIMEOUT.
func envOf(name string) string {
	return "SHARDINIT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// badValue is a problem with a value, which apply words as "NAME VALUE:
// PROBLEM".
type badValue struct{ problem string }

func (b badValue) Error() string { return b.problem }

func bad(format string, args ...any) error { return badValue{fmt.Sprintf(format, args...)} }

// The adapters read a value of their kind for a row's set function.

func text(set func(*plan, string) error) func(*plan, value) error {
	return func(p *plan, v value) error { return set(p, v.text) }
}

func list(set func(*plan, []string) error) func(*plan, value) error {
	return func(p *plan, v value) error { return set(p, v.list) }
}

func number(set func(*plan, int) error) func(*plan, value) error {
	return func(p *plan, v value) error {
		n, err := strconv.Atoi(v.text)
		if err != nil {
			return bad("want a whole number")
		}
		return set(p, n)
	}
}

func duration(set func(*plan, time.Duration) error) func(*plan, value) error {
	return func(p *plan, v value) error {
		d, err := parseDuration(v.text)
		if err != nil {
			return err
		}
		return set(p, d)
	}
}

func size(set func(*plan, uint64) error) func(*plan, value) error {
	return func(p *plan, v value) error {
		n, err := parseSize(v.text)
		if err != nil {
			return err
		}
		return set(p, n)
	}
}

// sizeUnits are the suffixes of a size, as Kubernetes writes quantities.
var sizeUnits = []struct {
	suffix string
	factor float64
}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}}

// parseSize reads a number of bytes: a whole number, or a number with a
// suffix, k, M, G, T (powers of 1000) or Ki, Mi, Gi, Ti (of 1024), as a
// container's memory limit is written: 256Mi, 1.5G.
func parseSize(s string) (uint64, error) {
	number, factor := s, 1.0
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			number, factor = n, u.factor
			break
		}
	}
	f, err := strconv.ParseFloat(number, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || strings.ContainsAny(number, "eExXpP_") {
		return 0, bad("want a size in bytes: a whole number, or one with a suffix k, M, G, T, Ki, Mi, Gi or Ti (256Mi)")
	}
	b := f * factor
	if b >= 1<<63 {
		return 0, bad("too large: at most 8Ei")
	}
	return uint64(math.Ceil(b)), nil
}

func switchOf(set func(*plan, bool) error) func(*plan, value) error {
	return func(p *plan, v value) error {
		on, err := strconv.ParseBool(v.text)
		if err != nil {
			return bad("want true or false")
		}
		return set(p, on)
	}
}

// parseDuration reads "10s" or "1m30s", or a bare number as seconds.
func parseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, bad("want a duration such as 500ms, 10s or 1m")
	}
	ns := secs * float64(time.Second)
	if !(ns > math.MinInt64 && ns < math.MaxInt64) { // the float's bounds: -2⁶³ and 2⁶³
		return 0, bad("out of range (a duration is at most about 292 years)")
	}
	return time.Duration(ns), nil
}

// apply runs every row's set function on its value, in the table's order:
// the first problem ends it, as one line that names the setting, the
// value and where the value came from.
func (p *plan) apply(vals values) error {
	for _, s := range table {
		if err := s.set(p, vals[s.name]); err != nil {
			return s.explain(vals[s.name], err)
		}
	}
	return nil
}

func (s setting) explain(v value, err error) error {
	if b := (badValue{}); errors.As(err, &b) {
		err = fmt.Errorf("%s %s: %s", s.name, s.quoted(v), b.problem)
	}
	switch {
	case v.env != "":
		return fmt.Errorf("%w (from %s)", err, v.env)
	case v.file != "":
		return fmt.Errorf("config %s: %w", v.file, err)
	}
	return err
}

// quoted is v as an error shows it: text quoted, numbers and durations not.
func (s setting) quoted(v value) string {
	switch s.kind {
	case textKind:
		return strconv.Quote(v.text)
	case listKind:
		return strconv.Quote(strings.Join(v.list, ","))
	}
	return v.text
}

// defaults are every row's default value.
func defaults() values {
	vals := values{}
	for _, s := range table {
		vals[s.name] = value{text: s.def}
	}
	return vals
}

// resolve reads the settings: defaults < YAML file < environment < flags.
func resolve(c *cli.Context) (values, error) {
	vals := defaults()
	if path := c.String("config"); path != "" {
		if err := loadFile(path, vals); err != nil {
			return nil, err
		}
	}
	for _, s := range table {
		if s.file {
			continue
		}
		if text, ok := os.LookupEnv(envOf(s.name)); ok {
			vals[s.name] = s.parsed(text, value{env: envOf(s.name)})
		}
		if c.IsSet(s.name) {
			switch s.kind {
			case listKind:
				vals[s.name] = value{list: c.StringSlice(s.name)}
			case switchKind:
				vals[s.name] = value{text: strconv.FormatBool(c.Bool(s.name))}
			default:
				vals[s.name] = value{text: c.String(s.name)}
			}
		}
	}
	return vals, nil
}

// parsed is text from a variable as v: a list is comma-separated.
func (s setting) parsed(text string, v value) value {
	if s.kind != listKind {
		v.text = text
		return v
	}
	for _, item := range strings.Split(text, ",") {
		if item = strings.TrimSpace(item); item != "" {
			v.list = append(v.list, item)
		}
	}
	return v
}

// configFlag names the YAML file; it is read before the other settings.
var configFlag = &cli.StringFlag{Name: "config", EnvVars: []string{envOf("config")}, Usage: "YAML file of settings (keys are the flag names)"}

// flags are fresh flags for every row but the file's own, and --config.
// The variables are read by resolve, not by the cli package, so that an
// error can say which one was bad; the flags only name them in --help.
func flags() []cli.Flag {
	fs := []cli.Flag{fresh(configFlag)}
	for _, s := range table {
		if !s.file {
			fs = append(fs, s.flag())
		}
	}
	return fs
}

func (s setting) flag() cli.Flag {
	var f cli.DocGenerationFlag
	switch s.kind {
	case switchKind:
		f = &cli.BoolFlag{Name: s.name, Usage: s.usage}
	case listKind:
		f = &cli.StringSliceFlag{Name: s.name, Usage: s.usage}
	default:
		f = &cli.StringFlag{Name: s.name, Usage: s.usage}
	}
	return helpFlag{f, s}
}

// helpFlag is a row's flag as --help shows it: under its group, with the
// word for its value, its default and its variable. The cli package does
// not read the variable (resolve does).
type helpFlag struct {
	cli.DocGenerationFlag
	s setting
}

func (h helpFlag) GetEnvVars() []string { return []string{envOf(h.s.name)} }
func (h helpFlag) GetCategory() string  { return h.s.group }
func (h helpFlag) IsVisible() bool      { return true }

func (h helpFlag) String() string {
	names := h.s.flagText()
	if h.s.kind == listKind {
		names += " [ " + names + " ]"
	}
	usage := strings.ReplaceAll(h.s.usage, "`", "")
	switch def := h.s.def; {
	case def == "" || h.s.kind == switchKind:
	case h.s.kind == durationKind:
		usage += " (default: " + shortDuration(def) + ")"
	default:
		usage += " (default: " + def + ")"
	}
	return fmt.Sprintf("%s\t%s [$%s]", names, usage, envOf(h.s.name))
}

// row is the setting called name; one that is not in the table is a bug.
func row(name string) setting {
	s, ok := rowNamed(name)
	if !ok {
		panic("no setting " + name)
	}
	return s
}

// rowNamed is the setting called name, if the table has one.
func rowNamed(name string) (setting, bool) {
	i := slices.IndexFunc(table, func(s setting) bool { return s.name == name })
	if i < 0 {
		return setting{}, false
	}
	return table[i], true
}

// flagText is how --help and docs/settings.md write the flag: --name ARG.
func (s setting) flagText() string {
	if s.arg == "" {
		return "--" + s.name
	}
	return "--" + s.name + " " + s.arg
}

// fresh is a shallow copy of f (a pointer to one of the cli package's
// flag structs): the cli package marks a flag it found in the environment
// as set for good, and tests run shardinit many times in one process.
func fresh(f *cli.StringFlag) cli.Flag {
	c := *f
	return &c
}

// mirrors lists the SHARDINIT_* variables that configure shardinit itself;
// workers do not see them (a nested shardinit must not take them up).
func mirrors() map[string]bool {
	m := map[string]bool{envOf("config"): true}
	for _, s := range table {
		if !s.file {
			m[envOf(s.name)] = true
		}
	}
	return m
}
