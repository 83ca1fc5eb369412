// Command validate checks rendered Kubernetes manifests offline against the
// real Kubernetes types of k8s.io/kubernetes (the version pinned in
// test/k8s/go.mod).
//
//	validate [-namespace default] [-allow-unknown-kinds ServiceMonitor,...] FILE... ('-' = stdin)
//
// Every document of every multi-document YAML stream is
//
//  1. decoded STRICTLY into its versioned Go type (unknown fields, duplicate
//     fields and case-mismatched fields are errors), using the apiserver's own
//     scheme (k8s.io/kubernetes/pkg/api/legacyscheme with the install packages
//     of each API group);
//  2. defaulted (the scheme's defaulting functions, as the apiserver does)
//     and converted to the internal version;
//  3. for the kinds in the strategies table below, run through the
//     apiserver's create path, rest.BeforeCreate with the kind's registry
//     strategy: PrepareForCreate, then Strategy.Validate (which calls the
//     internal validation, e.g. apps/validation.ValidateDeployment,
//     core/validation.ValidateServiceCreate, policy/validation.
//     ValidatePodDisruptionBudget, autoscaling/validation.
//     ValidateHorizontalPodAutoscaler, with the same options the server uses,
//     plus declarative validation), then the generic ObjectMeta validation.
//     Other kinds known to the scheme get strict decoding plus ObjectMeta
//     validation only (reported as "(metadata only)").
//
// Kinds the scheme does not know fail ("unknown kind"), except
// monitoring.coreos.com/v1 ServiceMonitor and PrometheusRule, which are
// decoded strictly into small hand-written structs and checked
// (servicemonitor.go, prometheusrule.go), and the kinds listed in
// -allow-unknown-kinds, which are reported as "not validated: unknown kind"
// and do not fail.
//
// One line is printed per object: "ok apps/v1 Deployment default/shardinit".
// The exit status is 1 if any object failed, 2 on usage or I/O errors.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/klog/v2"
	sigsyaml "sigs.k8s.io/yaml"

	"k8s.io/kubernetes/pkg/api/legacyscheme"
	_ "k8s.io/kubernetes/pkg/apis/admissionregistration/install"
	_ "k8s.io/kubernetes/pkg/apis/apps/install"
	_ "k8s.io/kubernetes/pkg/apis/autoscaling/install"
	_ "k8s.io/kubernetes/pkg/apis/batch/install"
	_ "k8s.io/kubernetes/pkg/apis/certificates/install"
	_ "k8s.io/kubernetes/pkg/apis/coordination/install"
	_ "k8s.io/kubernetes/pkg/apis/core/install"
	_ "k8s.io/kubernetes/pkg/apis/discovery/install"
	_ "k8s.io/kubernetes/pkg/apis/events/install"
	_ "k8s.io/kubernetes/pkg/apis/flowcontrol/install"
	_ "k8s.io/kubernetes/pkg/apis/networking/install"
	_ "k8s.io/kubernetes/pkg/apis/node/install"
	_ "k8s.io/kubernetes/pkg/apis/policy/install"
	_ "k8s.io/kubernetes/pkg/apis/rbac/install"
	_ "k8s.io/kubernetes/pkg/apis/scheduling/install"
	_ "k8s.io/kubernetes/pkg/apis/storage/install"

	"k8s.io/kubernetes/pkg/registry/apps/daemonset"
	"k8s.io/kubernetes/pkg/registry/apps/deployment"
	"k8s.io/kubernetes/pkg/registry/apps/replicaset"
	"k8s.io/kubernetes/pkg/registry/apps/statefulset"
	"k8s.io/kubernetes/pkg/registry/autoscaling/horizontalpodautoscaler"
	"k8s.io/kubernetes/pkg/registry/batch/cronjob"
	"k8s.io/kubernetes/pkg/registry/batch/job"
	"k8s.io/kubernetes/pkg/registry/core/configmap"
	"k8s.io/kubernetes/pkg/registry/core/limitrange"
	"k8s.io/kubernetes/pkg/registry/core/namespace"
	"k8s.io/kubernetes/pkg/registry/core/persistentvolumeclaim"
	"k8s.io/kubernetes/pkg/registry/core/pod"
	"k8s.io/kubernetes/pkg/registry/core/resourcequota"
	"k8s.io/kubernetes/pkg/registry/core/secret"
	"k8s.io/kubernetes/pkg/registry/core/service"
	"k8s.io/kubernetes/pkg/registry/core/serviceaccount"
	"k8s.io/kubernetes/pkg/registry/networking/ingress"
	"k8s.io/kubernetes/pkg/registry/networking/networkpolicy"
	"k8s.io/kubernetes/pkg/registry/policy/poddisruptionbudget"
	"k8s.io/kubernetes/pkg/registry/rbac/clusterrole"
	"k8s.io/kubernetes/pkg/registry/rbac/clusterrolebinding"
	"k8s.io/kubernetes/pkg/registry/rbac/role"
	"k8s.io/kubernetes/pkg/registry/rbac/rolebinding"
	"k8s.io/kubernetes/pkg/registry/scheduling/priorityclass"
)

// kindStrategy is the apiserver's create strategy of a kind and its resource
// name (for the request info that declarative validation reads).
type kindStrategy struct {
	strategy rest.RESTCreateStrategy
	resource string
}

// strategies maps the kinds we validate fully to their registry strategies.
var strategies = map[schema.GroupKind]kindStrategy{
	{Group: "", Kind: "ConfigMap"}:                                   {configmap.Strategy, "configmaps"},
	{Group: "", Kind: "Secret"}:                                      {secret.Strategy, "secrets"},
	{Group: "", Kind: "Service"}:                                     {service.Strategy, "services"},
	{Group: "", Kind: "ServiceAccount"}:                              {serviceaccount.Strategy, "serviceaccounts"},
	{Group: "", Kind: "Pod"}:                                         {pod.Strategy, "pods"},
	{Group: "", Kind: "Namespace"}:                                   {namespace.Strategy, "namespaces"},
	{Group: "", Kind: "PersistentVolumeClaim"}:                       {persistentvolumeclaim.Strategy, "persistentvolumeclaims"},
	{Group: "", Kind: "LimitRange"}:                                  {limitrange.Strategy, "limitranges"},
	{Group: "", Kind: "ResourceQuota"}:                               {resourcequota.Strategy, "resourcequotas"},
	{Group: "apps", Kind: "Deployment"}:                              {deployment.Strategy, "deployments"},
	{Group: "apps", Kind: "StatefulSet"}:                             {statefulset.Strategy, "statefulsets"},
	{Group: "apps", Kind: "DaemonSet"}:                               {daemonset.Strategy, "daemonsets"},
	{Group: "apps", Kind: "ReplicaSet"}:                              {replicaset.Strategy, "replicasets"},
	{Group: "batch", Kind: "Job"}:                                    {job.Strategy, "jobs"},
	{Group: "batch", Kind: "CronJob"}:                                {cronjob.Strategy, "cronjobs"},
	{Group: "policy", Kind: "PodDisruptionBudget"}:                   {poddisruptionbudget.Strategy, "poddisruptionbudgets"},
	{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}:          {horizontalpodautoscaler.Strategy, "horizontalpodautoscalers"},
	{Group: "networking.k8s.io", Kind: "NetworkPolicy"}:              {networkpolicy.Strategy, "networkpolicies"},
	{Group: "networking.k8s.io", Kind: "Ingress"}:                    {ingress.Strategy, "ingresses"},
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}:               {role.Strategy, "roles"},
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:        {rolebinding.Strategy, "rolebindings"},
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:        {clusterrole.Strategy, "clusterroles"},
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}: {clusterrolebinding.Strategy, "clusterrolebindings"},
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:              {priorityclass.Strategy, "priorityclasses"},
}

// Options control validation.
type Options struct {
	// Namespace is used for namespaced objects without metadata.namespace
	// (as helm/kubectl would send them to the request's namespace).
	Namespace string
	// AllowUnknownKinds lists kinds (or "*") that are reported as
	// "not validated: unknown kind" instead of being checked or failing.
	AllowUnknownKinds map[string]bool
}

// Status of one object.
type Status string

const (
	StatusOK   Status = "ok"
	StatusSkip Status = "skip"
	StatusFail Status = "FAIL"
)

// Result is the outcome for one document.
type Result struct {
	Source     string
	Doc        int // 1-based index of the document in its stream
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	Status     Status
	Note       string
	Warnings   []string
	Err        error
}

func (r Result) String() string {
	var b strings.Builder
	b.WriteString(string(r.Status))
	av, k := r.APIVersion, r.Kind
	if av == "" {
		av = "<no apiVersion>"
	}
	if k == "" {
		k = "<no kind>"
	}
	fmt.Fprintf(&b, " %s %s ", av, k)
	if r.Namespace != "" {
		b.WriteString(r.Namespace + "/")
	}
	if r.Name != "" {
		b.WriteString(r.Name)
	} else {
		b.WriteString("<no name>")
	}
	if r.Note != "" {
		b.WriteString(" (" + r.Note + ")")
	}
	if r.Err != nil {
		fmt.Fprintf(&b, " [%s, document %d]: %v", r.Source, r.Doc, r.Err)
	}
	for _, w := range r.Warnings {
		b.WriteString("\n  warning: " + w)
	}
	return b.String()
}

var (
	strictCodec = json.NewSerializerWithOptions(json.DefaultMetaFactory, legacyscheme.Scheme, legacyscheme.Scheme,
		json.SerializerOptions{Yaml: true, Strict: true})
	quietOnce sync.Once
)

// ValidateStream validates every document of a multi-document YAML stream.
// The error is for an unreadable stream; per-object problems are in the results.
func ValidateStream(r io.Reader, source string, opts Options) ([]Result, error) {
	quietOnce.Do(func() {
		// Declarative validation logs mismatches through klog; keep the output to our lines.
		fs := flag.NewFlagSet("klog", flag.ContinueOnError)
		klog.InitFlags(fs)
		_ = fs.Set("logtostderr", "false")
		_ = fs.Set("stderrthreshold", "FATAL")
		klog.SetOutput(io.Discard)
	})
	if opts.Namespace == "" {
		opts.Namespace = metav1.NamespaceDefault
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var results []Result
	for doc := 1; ; doc++ {
		data, err := reader.Read()
		if err == io.EOF {
			return results, nil
		}
		if err != nil {
			return results, fmt.Errorf("%s: reading document %d: %w", source, doc, err)
		}
		res, empty := validateDocument(data, opts)
		if empty {
			continue
		}
		res.Source, res.Doc = source, doc
		results = append(results, res)
	}
}

// validateDocument validates one YAML document; empty reports a document with
// nothing but comments or whitespace (helm emits those).
func validateDocument(data []byte, opts Options) (res Result, empty bool) {
	if len(bytes.TrimSpace(data)) == 0 {
		return res, true
	}
	j, err := sigsyaml.YAMLToJSON(data)
	if err != nil {
		res.Status, res.Err = StatusFail, fmt.Errorf("invalid YAML: %w", err)
		return res, false
	}
	if s := string(bytes.TrimSpace(j)); s == "null" || s == "{}" {
		return res, true
	}
	var head struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
	}
	if err := sigsyaml.Unmarshal(data, &head); err != nil {
		res.Status, res.Err = StatusFail, fmt.Errorf("not a Kubernetes object: %w", err)
		return res, false
	}
	res.APIVersion, res.Kind = head.APIVersion, head.Kind
	res.Namespace, res.Name = head.Metadata.Namespace, head.Metadata.Name
	if head.APIVersion == "" || head.Kind == "" {
		res.Status, res.Err = StatusFail, errors.New("apiVersion and kind are required")
		return res, false
	}
	gv, err := schema.ParseGroupVersion(head.APIVersion)
	if err != nil {
		res.Status, res.Err = StatusFail, err
		return res, false
	}
	gvk := gv.WithKind(head.Kind)
	if ks, ok := strategies[gvk.GroupKind()]; ok && ks.strategy.NamespaceScoped() && res.Namespace == "" {
		res.Namespace = opts.Namespace
	}

	if opts.AllowUnknownKinds[gvk.Kind] || opts.AllowUnknownKinds["*"] {
		if !legacyscheme.Scheme.Recognizes(gvk) {
			res.Status, res.Note = StatusSkip, "not validated: unknown kind"
			return res, false
		}
	}
	if !legacyscheme.Scheme.Recognizes(gvk) {
		switch gvk {
		case serviceMonitorGVK:
			validateServiceMonitor(data, opts, &res)
			return res, false
		case prometheusRuleGVK:
			validatePrometheusRule(data, opts, &res)
			return res, false
		}
		res.Status, res.Err = StatusFail, fmt.Errorf("not validated: unknown kind %s (allow it with -allow-unknown-kinds=%s)", gvk, gvk.Kind)
		return res, false
	}
	validateKnown(data, gvk, opts, &res)
	return res, false
}

type warningRecorder struct{ warnings []string }

func (w *warningRecorder) AddWarning(_, text string) { w.warnings = append(w.warnings, text) }

func validateKnown(data []byte, gvk schema.GroupVersionKind, opts Options, res *Result) {
	res.Status = StatusFail
	obj, _, err := strictCodec.Decode(data, nil, nil)
	if err != nil {
		// Strict errors (unknown/duplicate fields) come back with the object decoded; still a failure.
		res.Err = err
		return
	}
	legacyscheme.Scheme.Default(obj)
	internalGVK := gvk.GroupKind().WithVersion(runtime.APIVersionInternal)
	internal, err := legacyscheme.Scheme.New(internalGVK)
	if err != nil {
		res.Err = fmt.Errorf("no internal type: %w", err)
		return
	}
	if err := legacyscheme.Scheme.Convert(obj, internal, nil); err != nil {
		res.Err = fmt.Errorf("conversion to the internal version: %w", err)
		return
	}
	objMeta, err := meta.Accessor(internal)
	if err != nil {
		res.Err = err
		return
	}

	ks, ok := strategies[gvk.GroupKind()]
	if !ok {
		// Known to the scheme, but no strategy here: metadata only.
		namespaced := objMeta.GetNamespace() != ""
		if errs := apimachineryvalidation.ValidateObjectMetaAccessor(objMeta, namespaced,
			apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata")); len(errs) > 0 {
			res.Err = errs.ToAggregate()
			return
		}
		res.Status, res.Note = StatusOK, "metadata only"
		return
	}

	reqNamespace := ""
	if ks.strategy.NamespaceScoped() {
		reqNamespace = objMeta.GetNamespace()
		if reqNamespace == "" {
			reqNamespace = opts.Namespace
		}
	}
	recorder := &warningRecorder{}
	ctx := genericapirequest.WithNamespace(context.Background(), reqNamespace)
	ctx = genericapirequest.WithRequestInfo(ctx, &genericapirequest.RequestInfo{
		IsResourceRequest: true,
		Verb:              "create",
		APIPrefix:         "apis",
		APIGroup:          gvk.Group,
		APIVersion:        gvk.Version,
		Namespace:         reqNamespace,
		Resource:          ks.resource,
		Name:              objMeta.GetName(),
	})
	ctx = warning.WithWarningRecorder(ctx, recorder)
	// As the apiserver's generic store does before BeforeCreate.
	rest.FillObjectMetaSystemFields(objMeta)
	if len(objMeta.GetGenerateName()) > 0 && len(objMeta.GetName()) == 0 {
		objMeta.SetName(ks.strategy.GenerateName(objMeta.GetGenerateName()))
	}
	if err := rest.BeforeCreate(ks.strategy, ctx, internal); err != nil {
		res.Err = err
		return
	}
	res.Namespace, res.Name = objMeta.GetNamespace(), objMeta.GetName()
	res.Warnings = recorder.warnings
	res.Status = StatusOK
}

// ---- command line ----

func parseKinds(s string) map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Split(s, ",") {
		if k = strings.TrimSpace(k); k != "" {
			m[k] = true
		}
	}
	return m
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ns := fs.String("namespace", metav1.NamespaceDefault, "namespace assumed for namespaced objects without metadata.namespace")
	allow := fs.String("allow-unknown-kinds", "", "comma-separated kinds (or *) the scheme does not know that are reported as \"not validated: unknown kind\" instead of checked/failing")
	quiet := fs.Bool("q", false, "print only failures and the summary")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: validate [flags] FILE... ('-' reads stdin)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	opts := Options{Namespace: *ns, AllowUnknownKinds: parseKinds(*allow)}
	var nOK, nSkip, nFail int
	ioErr := false
	for _, name := range fs.Args() {
		var r io.Reader
		if name == "-" {
			r, name = stdin, "<stdin>"
		} else {
			f, err := os.Open(name)
			if err != nil {
				fmt.Fprintln(stderr, "validate:", err)
				ioErr = true
				continue
			}
			defer f.Close()
			r = f
		}
		results, err := ValidateStream(r, name, opts)
		for _, res := range results {
			switch res.Status {
			case StatusOK:
				nOK++
			case StatusSkip:
				nSkip++
			default:
				nFail++
			}
			if !*quiet || res.Status == StatusFail {
				fmt.Fprintln(stdout, res.String())
			}
		}
		if err != nil {
			fmt.Fprintln(stderr, "validate:", err)
			ioErr = true
		}
	}
	fmt.Fprintf(stdout, "validate: %d objects: %d ok, %d not validated, %d failed\n", nOK+nSkip+nFail, nOK, nSkip, nFail)
	switch {
	case nFail > 0:
		return 1
	case ioErr:
		return 2
	case nOK+nSkip == 0:
		fmt.Fprintln(stderr, "validate: no objects found")
		return 1
	}
	return 0
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
