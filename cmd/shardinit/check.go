package main

import (
	"fmt"
	"io"
	"log/slog"

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
			cfg, err := resolveConfig(c)
			if err != nil {
				return err
			}
			args := append(c.Args().Slice(), command...)
			p, err := makePlan(cfg, args)
			if err != nil {
				return err
			}
			if err := p.sizePool(slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
				return err
			}
			cfg.Workers, cfg.MaxWorkers, cfg.Command = p.pool.Workers, p.pool.MaxWorkers, p.pool.Command
			out, err := yaml.Marshal(cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "%s# configuration ok\n", out)
			return nil
		},
	}
}
