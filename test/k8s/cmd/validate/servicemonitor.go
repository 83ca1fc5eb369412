package main

// monitoring.coreos.com/v1 ServiceMonitor: a hand-written subset of the
// Prometheus Operator's type (the fields a chart uses), decoded strictly.

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

var serviceMonitorGVK = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"}

type serviceMonitor struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Metadata   metav1.ObjectMeta  `json:"metadata"`
	Spec       serviceMonitorSpec `json:"spec"`
}

type serviceMonitorSpec struct {
	JobLabel          string                   `json:"jobLabel,omitempty"`
	TargetLabels      []string                 `json:"targetLabels,omitempty"`
	PodTargetLabels   []string                 `json:"podTargetLabels,omitempty"`
	Endpoints         []serviceMonitorEndpoint `json:"endpoints,omitempty"`
	Selector          *metav1.LabelSelector    `json:"selector"`
	NamespaceSelector *namespaceSelector       `json:"namespaceSelector,omitempty"`
	SampleLimit       *uint64                  `json:"sampleLimit,omitempty"`
}

type namespaceSelector struct {
	Any        bool     `json:"any,omitempty"`
	MatchNames []string `json:"matchNames,omitempty"`
}

type serviceMonitorEndpoint struct {
	Port              string              `json:"port,omitempty"`
	TargetPort        *intstr.IntOrString `json:"targetPort,omitempty"`
	Path              string              `json:"path,omitempty"`
	Scheme            string              `json:"scheme,omitempty"`
	Params            map[string][]string `json:"params,omitempty"`
	Interval          string              `json:"interval,omitempty"`
	ScrapeTimeout     string              `json:"scrapeTimeout,omitempty"`
	HonorLabels       bool                `json:"honorLabels,omitempty"`
	HonorTimestamps   *bool               `json:"honorTimestamps,omitempty"`
	Relabelings       []relabelConfig     `json:"relabelings,omitempty"`
	MetricRelabelings []relabelConfig     `json:"metricRelabelings,omitempty"`
}

type relabelConfig struct {
	SourceLabels []string `json:"sourceLabels,omitempty"`
	Separator    *string  `json:"separator,omitempty"`
	TargetLabel  string   `json:"targetLabel,omitempty"`
	Regex        string   `json:"regex,omitempty"`
	Modulus      uint64   `json:"modulus,omitempty"`
	Replacement  *string  `json:"replacement,omitempty"`
	Action       string   `json:"action,omitempty"`
}

// promDuration is the pattern of the Prometheus Operator CRDs' Duration type.
var promDuration = regexp.MustCompile(`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`)

func validateServiceMonitor(data []byte, opts Options, res *Result) {
	res.Status = StatusFail
	var sm serviceMonitor
	if res.Err = decodeStrict(data, &sm); res.Err != nil {
		return
	}
	if sm.Metadata.Namespace == "" {
		sm.Metadata.Namespace = opts.Namespace
	}
	res.Namespace = sm.Metadata.Namespace

	errs := apimachineryvalidation.ValidateObjectMeta(&sm.Metadata, true,
		apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	spec := field.NewPath("spec")
	if sm.Spec.Selector == nil {
		errs = append(errs, field.Required(spec.Child("selector"), ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(sm.Spec.Selector,
			metav1validation.LabelSelectorValidationOptions{}, spec.Child("selector"))...)
	}
	if ns := sm.Spec.NamespaceSelector; ns != nil && ns.Any && len(ns.MatchNames) > 0 {
		errs = append(errs, field.Invalid(spec.Child("namespaceSelector"), ns, "any and matchNames are mutually exclusive"))
	}
	for i, ep := range sm.Spec.Endpoints {
		p := spec.Child("endpoints").Index(i)
		if ep.Port == "" && ep.TargetPort == nil {
			errs = append(errs, field.Required(p.Child("port"), "one of port or targetPort is required"))
		}
		if ep.Path != "" && !strings.HasPrefix(ep.Path, "/") {
			errs = append(errs, field.Invalid(p.Child("path"), ep.Path, "must start with /"))
		}
		switch strings.ToLower(ep.Scheme) {
		case "", "http", "https":
		default:
			errs = append(errs, field.NotSupported(p.Child("scheme"), ep.Scheme, []string{"http", "https"}))
		}
		for name, v := range map[string]string{"interval": ep.Interval, "scrapeTimeout": ep.ScrapeTimeout} {
			if v != "" && !promDuration.MatchString(v) {
				errs = append(errs, field.Invalid(p.Child(name), v, "must be a Prometheus duration such as 30s or 1m"))
			}
		}
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(a, b int) bool { return errs[a].Field < errs[b].Field })
		res.Err = fmt.Errorf("ServiceMonitor %q is invalid: %w", sm.Metadata.Name, errs.ToAggregate())
		return
	}
	res.Status, res.Note = StatusOK, "hand-written ServiceMonitor schema"
}

// decodeStrict decodes a YAML document into v as the apiserver's strict
// field validation would: duplicate, unknown and case-mismatched fields are
// errors.
func decodeStrict(data []byte, v any) error {
	j, err := sigsyaml.YAMLToJSONStrict(data) // duplicate keys are errors
	if err != nil {
		return fmt.Errorf("strict decoding error: %w", err)
	}
	strictErrs, err := sigsjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, 0, len(strictErrs))
		for _, e := range strictErrs {
			msgs = append(msgs, e.Error())
		}
		return fmt.Errorf("strict decoding error: %s", strings.Join(msgs, ", "))
	}
	return nil
}
