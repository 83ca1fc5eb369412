package main

import (
	"fmt"
	"strings"
)

// settingsDoc is the table of docs/settings.md, made from the table:
// `make docs` writes it between these marks, and a test fails when the
// page's differs.
const (
	settingsBegin = "<!-- settings: written by `make docs` from cmd/shardinit/table.go -->\n"
	settingsEnd   = "<!-- end of settings -->\n"
)

func settingsDoc() string {
	var b strings.Builder
	b.WriteString("| flag | environment | default | meaning |\n| --- | --- | --- | --- |\n")
	fmt.Fprintf(&b, "| `--config FILE` | `%s` | | YAML file of settings, keys as the flags; may also hold `%s: [%s]`, %s |\n",
		envOf("config"), row("command").name, row("command").arg, row("command").doc)
	for _, s := range table {
		if s.file {
			continue
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", s.flagText(), envOf(s.name), s.shownDefault(), s.doc)
	}
	return b.String()
}

// shownDefault is the default as docs/settings.md shows it: a number as it is,
// other text as code, nothing for none.
func (s setting) shownDefault() string {
	switch {
	case s.shown != "":
		return s.shown
	case s.def == "":
		return ""
	case s.kind == numberKind:
		return s.def
	case s.kind == durationKind:
		return "`" + shortDuration(s.def) + "`"
	}
	return "`" + s.def + "`"
}

// shortDuration writes 1m0s as 1m and 1h0m0s as 1h.
func shortDuration(d string) string {
	if d != "0s" && strings.HasSuffix(d, "m0s") {
		d = strings.TrimSuffix(d, "0s")
	}
	if strings.HasSuffix(d, "h0m") {
		d = strings.TrimSuffix(d, "0m")
	}
	return d
}
