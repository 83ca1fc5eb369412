package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// expression is one PromQL expression and where it came from; a template
// (an alert's label or annotation) has its text in template instead.
type expression struct {
	where    string
	expr     string
	template string
}

var declared = regexp.MustCompile(`desc\("(shardinit_[a-z0-9_]+)"`)

// declaredMetrics is the set of names a Go file declares with desc("…").
func declaredMetrics(src []byte) map[string]bool {
	known := map[string]bool{}
	for _, m := range declared.FindAllSubmatch(src, -1) {
		known[string(m[1])] = true
	}
	return known
}

// grafanaInterval is a Grafana interval variable, which stands where PromQL
// wants a duration.
var grafanaInterval = regexp.MustCompile(`\$\{?__(rate_interval|interval|range)\}?`)

// check parses every expression and template; it returns what is wrong and
// the shardinit metrics the expressions name.
func check(exprs []expression, known map[string]bool) (problems []string, metrics []string) {
	p := parser.NewParser(parser.Options{})
	named := map[string]bool{}
	for _, e := range exprs {
		if e.template != "" {
			if err := parseTemplate(e.template); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", e.where, err))
			}
			continue
		}
		ast, err := p.ParseExpr(grafanaInterval.ReplaceAllString(e.expr, "5m"))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v (expr: %s)", e.where, err, e.expr))
			continue
		}
		for _, name := range metricNames(ast) {
			if !strings.HasPrefix(name, "shardinit_") {
				continue
			}
			named[name] = true
			if known != nil && !known[name] && !known[histogramOf(name)] {
				problems = append(problems, fmt.Sprintf("%s: no such metric %s: shardinit declares none by that name", e.where, name))
			}
		}
	}
	for name := range named {
		metrics = append(metrics, name)
	}
	sort.Strings(metrics)
	return problems, metrics
}

// metricNames lists the metric names an expression's selectors name.
func metricNames(ast parser.Node) []string {
	var names []string
	parser.Inspect(ast, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		if vs.Name != "" {
			names = append(names, vs.Name)
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual && m.Value != vs.Name {
				names = append(names, m.Value)
			}
		}
		return nil
	})
	return names
}

// histogramOf is the histogram a series name belongs to, or "".
func histogramOf(name string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			return base
		}
	}
	return ""
}

// parseTemplate parses text as Prometheus expands an alert's labels and
// annotations: Go's text/template with the variables it defines first and
// the functions it adds (their bodies do not matter to a parse).
func parseTemplate(text string) error {
	const defs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
	funcs := template.FuncMap{}
	for _, name := range prometheusTemplateFuncs {
		funcs[name] = func(...any) any { return nil }
	}
	_, err := template.New("template").Funcs(funcs).Option("missingkey=zero").Parse(defs + text)
	return err
}

// prometheusTemplateFuncs are the functions Prometheus's alert templates
// have beyond text/template's (template/template.go in Prometheus).
var prometheusTemplateFuncs = []string{
	"query", "first", "label", "value", "strvalue", "args", "reReplaceAll", "safeHtml", "match",
	"title", "toUpper", "toLower", "graphLink", "tableLink", "sortByLabel", "humanize",
	"humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp", "toTime",
	"toDuration", "now", "pathPrefix", "externalURL", "parseDuration", "stripPort", "stripDomain",
}
