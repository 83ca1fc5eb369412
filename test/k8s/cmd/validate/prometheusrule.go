package main

// monitoring.coreos.com/v1 PrometheusRule: a hand-written copy of the
// Prometheus Operator's type, decoded strictly, with the checks Prometheus
// makes when it loads a rule file (rulefmt) but for the expressions, which
// the promql module parses with Prometheus's own parser (this module would
// have to raise dependencies the Kubernetes build shares to import it).

import (
	"fmt"
	"regexp"
	"sort"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var prometheusRuleGVK = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PrometheusRule"}

type prometheusRule struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Metadata   metav1.ObjectMeta  `json:"metadata"`
	Spec       prometheusRuleSpec `json:"spec"`
}

type prometheusRuleSpec struct {
	Groups []ruleGroup `json:"groups,omitempty"`
}

type ruleGroup struct {
	Name                    string            `json:"name"`
	Interval                string            `json:"interval,omitempty"`
	QueryOffset             string            `json:"query_offset,omitempty"`
	Limit                   *int              `json:"limit,omitempty"`
	Labels                  map[string]string `json:"labels,omitempty"`
	PartialResponseStrategy string            `json:"partial_response_strategy,omitempty"`
	Rules                   []rule            `json:"rules,omitempty"`
}

type rule struct {
	Record        string              `json:"record,omitempty"`
	Alert         string              `json:"alert,omitempty"`
	Expr          *intstr.IntOrString `json:"expr"`
	For           *string             `json:"for,omitempty"`
	KeepFiringFor *string             `json:"keep_firing_for,omitempty"`
	Labels        map[string]string   `json:"labels,omitempty"`
	Annotations   map[string]string   `json:"annotations,omitempty"`
}

var (
	// metricName is what Prometheus takes for a recording rule's name and
	// an alert's (model.IsValidMetricName), labelName for a label's.
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

func validatePrometheusRule(data []byte, opts Options, res *Result) {
	res.Status = StatusFail
	var pr prometheusRule
	if res.Err = decodeStrict(data, &pr); res.Err != nil {
		return
	}
	if pr.Metadata.Namespace == "" {
		pr.Metadata.Namespace = opts.Namespace
	}
	res.Namespace = pr.Metadata.Namespace

	errs := apimachineryvalidation.ValidateObjectMeta(&pr.Metadata, true,
		apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	errs = append(errs, validateRuleGroups(pr.Spec.Groups, field.NewPath("spec", "groups"))...)
	if len(errs) > 0 {
		sort.SliceStable(errs, func(a, b int) bool { return errs[a].Field < errs[b].Field })
		res.Err = fmt.Errorf("PrometheusRule %q is invalid: %w", pr.Metadata.Name, errs.ToAggregate())
		return
	}
	res.Status, res.Note = StatusOK, "hand-written PrometheusRule schema"
}

func validateRuleGroups(groups []ruleGroup, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(groups) == 0 {
		errs = append(errs, field.Required(path, "a PrometheusRule without groups has no rule"))
	}
	seen := map[string]bool{}
	for i, g := range groups {
		p := path.Index(i)
		switch {
		case g.Name == "":
			errs = append(errs, field.Required(p.Child("name"), ""))
		case seen[g.Name]:
			errs = append(errs, field.Duplicate(p.Child("name"), g.Name))
		}
		seen[g.Name] = true
		for name, v := range map[string]string{"interval": g.Interval, "query_offset": g.QueryOffset} {
			if v != "" && !promDuration.MatchString(v) {
				errs = append(errs, field.Invalid(p.Child(name), v, "must be a Prometheus duration such as 30s or 1m"))
			}
		}
		errs = append(errs, validateLabelNames(g.Labels, p.Child("labels"))...)
		if len(g.Rules) == 0 {
			errs = append(errs, field.Required(p.Child("rules"), "a group without rules"))
		}
		for j, r := range g.Rules {
			errs = append(errs, validateRule(r, p.Child("rules").Index(j))...)
		}
	}
	return errs
}

func validateRule(r rule, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case r.Alert == "" && r.Record == "":
		errs = append(errs, field.Required(p, "one of alert or record"))
	case r.Alert != "" && r.Record != "":
		errs = append(errs, field.Invalid(p, r.Record, "alert and record are mutually exclusive"))
	case r.Record != "" && !metricName.MatchString(r.Record):
		errs = append(errs, field.Invalid(p.Child("record"), r.Record, "must be a metric name"))
	case r.Alert != "" && !metricName.MatchString(r.Alert):
		errs = append(errs, field.Invalid(p.Child("alert"), r.Alert, "must be a metric name (Prometheus's rule for alert names)"))
	}
	if r.Expr == nil || r.Expr.String() == "" {
		errs = append(errs, field.Required(p.Child("expr"), ""))
	}
	for name, v := range map[string]*string{"for": r.For, "keep_firing_for": r.KeepFiringFor} {
		switch {
		case v == nil:
		case r.Record != "":
			errs = append(errs, field.Forbidden(p.Child(name), "only an alert has "+name))
		case !promDuration.MatchString(*v):
			errs = append(errs, field.Invalid(p.Child(name), *v, "must be a Prometheus duration such as 30s or 1m"))
		}
	}
	if r.Record != "" && len(r.Annotations) > 0 {
		errs = append(errs, field.Forbidden(p.Child("annotations"), "only an alert has annotations"))
	}
	errs = append(errs, validateLabelNames(r.Labels, p.Child("labels"))...)
	errs = append(errs, validateLabelNames(r.Annotations, p.Child("annotations"))...)
	return errs
}

func validateLabelNames(m map[string]string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for name := range m {
		if !labelName.MatchString(name) {
			errs = append(errs, field.Invalid(p.Key(name), name, "must be a Prometheus label name"))
		}
	}
	return errs
}
