package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"

	"github.com/shardinit/shardinit/pkg/spawn"
	"github.com/urfave/cli/v2"
)

// version is stamped at build time (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	// A worker being started passes through here first (see spawn.ExecStage).
	spawn.ExecStage()
	os.Exit(exitCode(run(context.Background(), os.Args), os.Stderr))
}

// run is shardinit with its arguments.
func run(ctx context.Context, args []string) error {
	app, own := appFor(args)
	return app.RunContext(ctx, own)
}

// appFor is the app for args and the arguments it parses. Everything after
// the first "--" is the worker command, never a flag or a subcommand of
// shardinit's.
func appFor(args []string) (*cli.App, []string) {
	own, command := args, []string(nil)
	if i := slices.Index(args, "--"); i >= 0 {
		own, command = args[:i], args[i+1:]
	}
	return newApp(command), own
}

func newApp(command []string) *cli.App {
	return &cli.App{
		Name:      "shardinit",
		Usage:     "run a network server on every core, as a correct PID 1",
		UsageText: "shardinit [flags] -- COMMAND [ARGS...]",
		Version:   version,
		Flags:     flags(),
		Action: func(c *cli.Context) error {
			if err := mistypedCommand(c); err != nil {
				return err
			}
			return runPool(c, append(c.Args().Slice(), command...))
		},
		Commands:        []*cli.Command{checkCommand(command), statusCommand, restartCommand, signalCommand, versionCommand},
		OnUsageError:    onUsageError,
		ExitErrHandler:  func(*cli.Context, error) {}, // exit codes are decided in exitCode
		HideHelpCommand: true,
	}
}

func onUsageError(_ *cli.Context, err error, _ bool) error {
	return usagef("%v (see shardinit --help)", err)
}

// exitCode maps run's error to the process exit code and prints it as one
// line, its control characters as escapes: 2 for bad input, the code an
// ExitError carries, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var exit *spawn.ExitError
	var usage usageError
	code := 1
	switch {
	case errors.As(err, &exit):
		if exit.Err == nil {
			return exit.Code
		}
		code = exit.Code
	case errors.As(err, &usage):
		code = 2
	}
	// One line, whatever the error quotes: an argument, a file, a worker.
	fmt.Fprintf(stderr, "shardinit: %s\n", visible(err.Error()))
	return code
}

var versionCommand = &cli.Command{
	Name:  "version",
	Usage: "print the version",
	Action: func(c *cli.Context) error {
		fmt.Fprintf(c.App.Writer, "shardinit %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return nil
	},
}
