// Command valuesdoc writes a Helm chart's README.md from its values.yaml, as
// helm-docs does, with nothing to download:
//
//	valuesdoc [-check] CHART_DIR
//
// A value is documented by a comment that starts with "# --" right above
// its key; the comment lines after that one continue it. "# -- (TYPE) text"
// names the type where the default cannot (a null, a number or a string).
// The table lists every documented key by its dotted path, in the order of
// values.yaml, with its type, its default (as JSON) and the text. A map
// with a comment of its own is documented as a whole, and its keys only if
// they have theirs; a map without one is a heading for its keys. Every
// other value, a scalar, a list or an empty map, must have a comment of its
// own or below a documented map: one that has neither fails the run, which
// is how "every value is documented" is kept.
//
// The README is CHART_DIR/README.md.gotmpl (Go's text/template) with
// .Name, .Description, .Version, .AppVersion and .Home from Chart.yaml and
// .Values, the table. With -check nothing is written: the run fails when
// README.md is not what it would write (deploy/render.sh --check, and so
// deploy/check.sh, run it so).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/template"

	"go.yaml.in/yaml/v3"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("valuesdoc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "write nothing; fail when README.md is not what it would be")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: valuesdoc [-check] CHART_DIR")
		return 2
	}
	dir := fs.Arg(0)
	readme, err := render(dir)
	if err != nil {
		fmt.Fprintln(stderr, "valuesdoc:", err)
		return 1
	}
	path := filepath.Join(dir, "README.md")
	if *check {
		old, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintln(stderr, "valuesdoc:", err)
			return 2
		}
		if !bytes.Equal(old, readme) {
			fmt.Fprintf(stderr, "valuesdoc: %s is not values.yaml's: run deploy/render.sh\n", path)
			return 1
		}
		fmt.Fprintf(stdout, "valuesdoc: %s is values.yaml's\n", path)
		return 0
	}
	if err := os.WriteFile(path, readme, 0o644); err != nil {
		fmt.Fprintln(stderr, "valuesdoc:", err)
		return 2
	}
	fmt.Fprintf(stdout, "valuesdoc: wrote %s\n", path)
	return 0
}

// chart is what README.md.gotmpl is given.
type chart struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Version     string `yaml:"version"`
	AppVersion  string `yaml:"appVersion"`
	Home        string `yaml:"home"`
	Values      string `yaml:"-"`
}

// render makes the README of the chart in dir.
func render(dir string) ([]byte, error) {
	var c chart
	meta, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(meta, &c); err != nil {
		return nil, fmt.Errorf("Chart.yaml: %w", err)
	}
	values, err := os.ReadFile(filepath.Join(dir, "values.yaml"))
	if err != nil {
		return nil, err
	}
	rows, err := documented(values)
	if err != nil {
		return nil, err
	}
	c.Values = table(rows)
	tmpl, err := template.ParseFiles(filepath.Join(dir, "README.md.gotmpl"))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, c); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
