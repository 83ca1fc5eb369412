package main

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"sigs.k8s.io/yaml"
)

// checkCommand validates a configuration without binding or starting
// anything, and prints it as shardinit would run it.
func checkCommand(command []string) *cli.Command {
	return &cli.Command{
		Name:         "check",
		Usage:        "validate the configuration and print it, without running",
		UsageText:    "shardinit check [flags] [-- COMMAND [ARGS...]]",
		Flags:        flags(),
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			if err := mistypedCommand(c); err != nil {
				return err
			}
			vals, err := resolve(c)
			if err != nil {
				return err
			}
			args := append(c.Args().Slice(), command...)
			p, err := makePlan(vals, args)
			if err != nil {
				return err
			}
			if err := p.sizePool(slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
				return err
			}
			vals["workers"] = value{text: strconv.Itoa(p.pool.Workers)}
			vals["max-workers"] = value{text: strconv.Itoa(p.pool.MaxWorkers)}
			vals["command"] = value{list: p.pool.Command}
			out := vals.yaml()
			fmt.Fprintf(c.App.Writer, "%s# configuration ok\n", out)
			return nil
		},
	}
}

// yaml is vals as a YAML file, its keys in the table's order, each value
// in the form its row reads back the same: 10s for a duration, 2 for a
// number. Empty lists are left out.
func (vals values) yaml() string {
	var b strings.Builder
	for _, s := range table {
		v := vals[s.name]
		var out any = v.text
		switch s.kind {
		case listKind:
			if len(v.list) == 0 {
				continue
			}
			out = v.list
		case numberKind:
			out, _ = strconv.Atoi(v.text)
		case durationKind:
			d, _ := parseDuration(v.text)
			out = d.String()
		case switchKind:
			out, _ = strconv.ParseBool(v.text)
		}
		line, _ := yaml.Marshal(map[string]any{s.name: out})
		b.Write(line)
	}
	return b.String()
}
