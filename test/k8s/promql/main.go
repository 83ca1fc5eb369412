// Command promql checks the PromQL the chart and the dashboard ship, with
// Prometheus's own parser: a module of its own, because importing
// Prometheus into test/k8s would raise dependencies (go-openapi) that the
// Kubernetes components built there share.
//
//	promql [-metrics pkg/health/metrics.go] FILE...
//
// A .json FILE is a Grafana dashboard: every target's expr, and every
// label_values() variable's metric, of every panel (rows' too). Any other
// FILE is a YAML stream (a chart's rendering): every rule of every
// monitoring.coreos.com/v1 PrometheusRule, its expr, and its labels and
// annotations as Prometheus's templates (text/template, with $labels,
// $value and $externalLabels defined and Prometheus's functions). Grafana's
// interval variables ($__rate_interval, $__interval, $__range) are read as
// 5m; other variables must stand inside quoted strings.
//
// Each shardinit_* metric an expression names must be one that the Go file
// given by -metrics declares (desc("shardinit_...")), counting a
// histogram's _bucket, _sum and _count series as its own: a renamed
// metric fails here, not in a silent alert. One line per file; exit 1 when
// anything failed, 2 on usage or I/O errors.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("promql", flag.ContinueOnError)
	fs.SetOutput(stderr)
	metricsFile := fs.String("metrics", "", "a Go file declaring shardinit's metrics (desc(\"shardinit_...\")); empty: names are not checked")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: promql [-metrics FILE] FILE...")
		return 2
	}
	var known map[string]bool
	if *metricsFile != "" {
		src, err := os.ReadFile(*metricsFile)
		if err != nil {
			fmt.Fprintln(stderr, "promql:", err)
			return 2
		}
		if known = declaredMetrics(src); len(known) == 0 {
			fmt.Fprintf(stderr, "promql: %s declares no shardinit_* metric (desc(\"shardinit_...\")); has its layout changed?\n", *metricsFile)
			return 2
		}
	}
	failed := false
	for _, name := range fs.Args() {
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(stderr, "promql:", err)
			return 2
		}
		var exprs []expression
		if filepath.Ext(name) == ".json" {
			exprs, err = dashboardExpressions(data)
		} else {
			exprs, err = ruleExpressions(data)
		}
		if err != nil {
			fmt.Fprintf(stdout, "FAIL %s: %v\n", name, err)
			failed = true
			continue
		}
		problems, metrics := check(exprs, known)
		for _, p := range problems {
			fmt.Fprintf(stdout, "FAIL %s: %s\n", name, p)
		}
		failed = failed || len(problems) > 0
		if len(problems) == 0 {
			templates := 0
			for _, e := range exprs {
				if e.template != "" {
					templates++
				}
			}
			fmt.Fprintf(stdout, "ok %s: %d expressions, %d templates, %d shardinit metrics named\n",
				name, len(exprs)-templates, templates, len(metrics))
		}
	}
	if failed {
		return 1
	}
	return 0
}
