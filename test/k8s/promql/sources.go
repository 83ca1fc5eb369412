package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"

	"sigs.k8s.io/yaml"
)

// ruleExpressions reads a YAML stream and returns the expressions and
// templates of every PrometheusRule in it.
func ruleExpressions(data []byte) ([]expression, error) {
	var exprs []expression
	for i, doc := range splitDocuments(data) {
		var obj struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				Groups []struct {
					Name  string `json:"name"`
					Rules []struct {
						Alert       string            `json:"alert"`
						Record      string            `json:"record"`
						Expr        json.RawMessage   `json:"expr"`
						Labels      map[string]string `json:"labels"`
						Annotations map[string]string `json:"annotations"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if obj.APIVersion != "monitoring.coreos.com/v1" || obj.Kind != "PrometheusRule" {
			continue
		}
		for _, g := range obj.Spec.Groups {
			for _, r := range g.Rules {
				where := fmt.Sprintf("PrometheusRule %s, group %s, %s", obj.Metadata.Name, g.Name, r.Alert+r.Record)
				var expr any
				if err := json.Unmarshal(r.Expr, &expr); err != nil {
					return nil, fmt.Errorf("%s: expr: %w", where, err)
				}
				exprs = append(exprs, expression{where: where, expr: fmt.Sprint(expr)})
				for _, kind := range []struct {
					name string
					m    map[string]string
				}{{"label", r.Labels}, {"annotation", r.Annotations}} {
					for _, key := range sortedKeys(kind.m) {
						exprs = append(exprs, expression{where: fmt.Sprintf("%s, %s %s", where, kind.name, key), template: kind.m[key]})
					}
				}
			}
		}
	}
	return exprs, nil
}

var documentSeparator = regexp.MustCompile(`(?m)^---\s*$`)

func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range documentSeparator.Split(string(data), -1) {
		if len(bytes.TrimSpace([]byte(d))) > 0 {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// panel is the part of a Grafana panel that holds queries; a row holds
// panels of its own.
type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// labelValues is a Grafana query variable's label_values(METRIC, LABEL).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// dashboardExpressions returns every query of a Grafana dashboard.
func dashboardExpressions(data []byte) ([]expression, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var dash struct {
		Title      string  `json:"title"`
		UID        string  `json:"uid"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := dec.Decode(&dash); err != nil {
		return nil, fmt.Errorf("not a dashboard: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("not a dashboard: data after its JSON object")
	}
	if dash.Title == "" || dash.UID == "" {
		return nil, errors.New("a dashboard needs a title and a uid")
	}
	var exprs []expression
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)
		text, _ := q["query"].(string)
		if m := labelValues.FindStringSubmatch(text); m != nil {
			exprs = append(exprs, expression{where: "variable " + v.Name, expr: m[1]})
		}
	}
	var walk func([]panel)
	walk = func(panels []panel) {
		for _, p := range panels {
			for _, t := range p.Targets {
				exprs = append(exprs, expression{where: fmt.Sprintf("panel %q, query %s", p.Title, t.RefID), expr: t.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	if len(exprs) == 0 {
		return nil, errors.New("a dashboard without queries")
	}
	return exprs, nil
}
