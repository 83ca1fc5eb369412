package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/shardinit/shardinit/pkg/spawn"
	"github.com/urfave/cli/v2"
)

// version is stamped at build time (-ldflags "-X main.version=…", from
// scripts/version); a plain go build is 0.0.0-dev.
var version = "0.0.0-dev"

// revision is the commit it was built from (-X main.revision=…), else the
// one the Go toolchain recorded, if any.
var revision = ""

func buildRevision() string {
	if revision != "" {
		return revision
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// versionLine is what shardinit version and --version print.
func versionLine() string {
	return fmt.Sprintf("shardinit %s (%s %s/%s)", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func init() {
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, versionLine()) }
}

func main() {
	// A worker being started passes through here first (see spawn.ExecStage).
	spawn.ExecStage()
	code, err := run(context.Background(), os.Args)
	os.Exit(exitCode(code, err, os.Stderr))
}

// run is shardinit with its arguments: the workers' exit code, or an
// error.
func run(ctx context.Context, args []string) (int, error) {
	code := 0
	app, own := appFor(args, &code)
	err := app.RunContext(ctx, own)
	return code, err
}

// appFor is the app for args and the arguments it parses; the pool's exit
// code goes to code. Everything after the first "--" is the worker
// command, never a flag or a subcommand of shardinit's.
func appFor(args []string, code *int) (*cli.App, []string) {
	own, command := args, []string(nil)
	if i := slices.Index(args, "--"); i >= 0 {
		own, command = args[:i], args[i+1:]
	}
	app := newApp(command, code)
	app.Metadata = map[string]any{"args": own} // for onUsageError
	return app, own
}

func newApp(command []string, code *int) *cli.App {
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
			var err error
			*code, err = runPool(c, append(c.Args().Slice(), command...))
			return err
		},
		Commands:        []*cli.Command{checkCommand(command), statusCommand, probeCommand, restartCommand, signalCommand, versionCommand},
		OnUsageError:    onUsageError,
		ExitErrHandler:  func(*cli.Context, error) {}, // exit codes are decided in exitCode
		HideHelpCommand: true,
	}
}

func onUsageError(c *cli.Context, err error, _ bool) error {
	if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok {
		return unknownFlag(c, name)
	}
	return usagef("%v (see shardinit --help)", err)
}

// unknownFlag names a flag that is not shardinit's as it was typed
// (--bogus, not the flag package's -bogus), with the nearest flag it may
// be a typo of.
func unknownFlag(c *cli.Context, name string) error {
	typed := "--" + name
	args, _ := c.App.Metadata["args"].([]string)
	for _, a := range args {
		if before, _, _ := strings.Cut(a, "="); before == "-"+name || before == "--"+name {
			typed = before
			break
		}
	}
	var names []string
	fs := c.App.Flags
	if c.Command != nil && c.Command.Name != "" {
		fs = c.Command.Flags
	}
	for _, f := range fs {
		names = append(names, f.Names()...)
	}
	if near := nearest(names, name); near != "" {
		return usagef("unknown flag %s: did you mean --%s? (see shardinit --help)", typed, near)
	}
	return usagef("unknown flag %s (see shardinit --help)", typed)
}

// exitCode is shardinit's exit code: the workers' without an error, else
// the error's, printed as one line with its control characters as escapes:
// 2 for bad input, 127 and 126 for a command not found or not executable,
// as a shell says, 1 for anything else.
func exitCode(workers int, err error, stderr io.Writer) int {
	if err == nil {
		return workers
	}
	code := 1
	switch {
	case errors.As(err, new(usageError)), errors.Is(err, spawn.ErrNoCommand):
		code = 2
	case errors.Is(err, spawn.ErrCommandNotFound):
		code = 127
	case errors.Is(err, spawn.ErrCommandNotExecutable):
		code = 126
	}
	// One line, whatever the error quotes: an argument, a file, a worker.
	fmt.Fprintf(stderr, "shardinit: %s\n", visible(err.Error()))
	return code
}

var versionCommand = &cli.Command{
	Name:  "version",
	Usage: "print the version",
	Action: func(c *cli.Context) error {
		fmt.Fprintln(c.App.Writer, versionLine())
		return nil
	},
}
