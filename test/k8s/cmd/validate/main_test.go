package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodDeployment = `
# Source: shardinit/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shardinit
  labels:
    app.kubernetes.io/name: shardinit
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: shardinit
  template:
    metadata:
      labels:
        app.kubernetes.io/name: shardinit
    spec:
      containers:
        - name: shardinit
          image: shardinit:dev
          ports:
            - name: http
              containerPort: 8080
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
`

const goodService = `
apiVersion: v1
kind: Service
metadata:
  name: shardinit
  namespace: prod
spec:
  selector:
    app.kubernetes.io/name: shardinit
  ports:
    - name: http
      port: 80
      targetPort: http
`

const goodServiceMonitor = `
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: shardinit
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: shardinit
  namespaceSelector:
    matchNames: [default]
  endpoints:
    - port: http
      path: /metrics
      interval: 30s
      scrapeTimeout: 10s
`

func validateString(t *testing.T, s string, opts Options) []Result {
	t.Helper()
	results, err := ValidateStream(strings.NewReader(s), "test.yaml", opts)
	if err != nil {
		t.Fatalf("ValidateStream: %v", err)
	}
	return results
}

func one(t *testing.T, s string, opts Options) Result {
	t.Helper()
	results := validateString(t, s, opts)
	if len(results) != 1 {
		t.Fatalf("got %d results, want 1: %v", len(results), results)
	}
	return results[0]
}

func TestGoodDeployment(t *testing.T) {
	r := one(t, goodDeployment, Options{})
	if r.Status != StatusOK || r.Err != nil {
		t.Fatalf("want ok, got %v", r)
	}
	if got, want := r.String(), "ok apps/v1 Deployment default/shardinit"; got != want {
		t.Errorf("line = %q, want %q", got, want)
	}
}

func TestMultiDocumentStream(t *testing.T) {
	stream := "---\n# only a comment\n---\n" + goodDeployment + "\n---\n" + goodService + "\n---\n"
	results := validateString(t, stream, Options{Namespace: "team"})
	if len(results) != 2 {
		t.Fatalf("got %d results, want 2: %v", len(results), results)
	}
	want := []string{"ok apps/v1 Deployment team/shardinit", "ok v1 Service prod/shardinit"}
	for i, r := range results {
		if r.String() != want[i] {
			t.Errorf("result %d = %q, want %q", i, r.String(), want[i])
		}
	}
}

func TestTypoField(t *testing.T) {
	bad := strings.Replace(goodDeployment, "replicas: 2", "replicass: 2", 1)
	r := one(t, bad, Options{})
	if r.Status != StatusFail || r.Err == nil {
		t.Fatalf("want FAIL, got %v", r)
	}
	if !strings.Contains(r.Err.Error(), `unknown field "spec.replicass"`) {
		t.Errorf("error %q does not name the unknown field", r.Err)
	}
}

func TestDuplicateField(t *testing.T) {
	bad := strings.Replace(goodDeployment, "replicas: 2", "replicas: 2\n  replicas: 3", 1)
	r := one(t, bad, Options{})
	if r.Status != StatusFail || r.Err == nil || !strings.Contains(r.Err.Error(), "replicas") {
		t.Fatalf("want FAIL for the duplicate field, got %v", r)
	}
}

func TestSelectorNotMatchingTemplate(t *testing.T) {
	bad := strings.Replace(goodDeployment, "      labels:\n        app.kubernetes.io/name: shardinit",
		"      labels:\n        app.kubernetes.io/name: other", 1)
	if bad == goodDeployment {
		t.Fatal("test input not modified")
	}
	r := one(t, bad, Options{})
	if r.Status != StatusFail || r.Err == nil {
		t.Fatalf("want FAIL, got %v", r)
	}
	if !strings.Contains(r.Err.Error(), "`selector` does not match template `labels`") {
		t.Errorf("unexpected error: %v", r.Err)
	}
}

func TestInvalidValues(t *testing.T) {
	cases := map[string]string{
		"negative replicas":  strings.Replace(goodDeployment, "replicas: 2", "replicas: -1", 1),
		"bad container name": strings.Replace(goodDeployment, "- name: shardinit\n", "- name: Shard_Init\n", 1),
		"service no ports": `
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {selector: {a: b}}
`,
		"pdb both": `
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: p}
spec: {minAvailable: 1, maxUnavailable: 1, selector: {matchLabels: {a: b}}}
`,
		"hpa min > max": `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: h}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: d}
  minReplicas: 5
  maxReplicas: 2
`,
		"bad configmap key": `
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {"bad key": x}
`,
		"bad name": `
apiVersion: v1
kind: ServiceAccount
metadata: {name: Bad_Name}
`,
		"wrong type":    strings.Replace(goodDeployment, "replicas: 2", "replicas: two", 1),
		"no kind":       "apiVersion: v1\nmetadata: {name: x}\n",
		"case mismatch": strings.Replace(goodDeployment, "replicas: 2", "Replicas: 2", 1),
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			r := one(t, doc, Options{})
			if r.Status != StatusFail || r.Err == nil {
				t.Fatalf("want FAIL, got %v", r)
			}
			t.Log(r)
		})
	}
}

func TestGoodOtherKinds(t *testing.T) {
	docs := `
apiVersion: v1
kind: ServiceAccount
metadata: {name: shardinit}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: shardinit}
data: {config.yaml: "a: b"}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: shardinit}
spec: {maxUnavailable: 1, selector: {matchLabels: {app: x}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: shardinit}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: shardinit}
  minReplicas: 2
  maxReplicas: 5
  metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: shardinit}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: shardinit, namespace: x}
`
	results := validateString(t, docs, Options{})
	if len(results) != 6 {
		t.Fatalf("got %d results: %v", len(results), results)
	}
	for _, r := range results {
		if r.Status != StatusOK {
			t.Errorf("want ok: %v", r)
		}
	}
	if got := results[4].String(); got != "ok rbac.authorization.k8s.io/v1 ClusterRole shardinit" {
		t.Errorf("cluster-scoped line = %q", got)
	}
	if results[5].Note != "metadata only" {
		t.Errorf("Endpoints note = %q", results[5].Note)
	}
}

func TestServiceMonitor(t *testing.T) {
	r := one(t, goodServiceMonitor, Options{})
	if r.Status != StatusOK {
		t.Fatalf("want ok, got %v", r)
	}
	if !strings.HasPrefix(r.String(), "ok monitoring.coreos.com/v1 ServiceMonitor default/shardinit") {
		t.Errorf("line = %q", r.String())
	}

	typo := strings.Replace(goodServiceMonitor, "scrapeTimeout:", "scrapeTimout:", 1)
	r = one(t, typo, Options{})
	if r.Status != StatusFail || !strings.Contains(r.Err.Error(), `unknown field "spec.endpoints[0].scrapeTimout"`) {
		t.Fatalf("want FAIL for the typo, got %v", r)
	}
	badInterval := strings.Replace(goodServiceMonitor, "interval: 30s", "interval: 30 seconds", 1)
	if r = one(t, badInterval, Options{}); r.Status != StatusFail {
		t.Fatalf("want FAIL for the interval, got %v", r)
	}
	noSelector := strings.Replace(goodServiceMonitor, "  selector:\n    matchLabels:\n      app.kubernetes.io/name: shardinit\n", "", 1)
	if r = one(t, noSelector, Options{}); r.Status != StatusFail {
		t.Fatalf("want FAIL without selector, got %v", r)
	}

	// Allowed as unknown: not checked at all, even with the typo.
	r = one(t, typo, Options{AllowUnknownKinds: parseKinds("ServiceMonitor")})
	if r.Status != StatusSkip || r.Err != nil {
		t.Fatalf("want skip, got %v", r)
	}
	if want := "skip monitoring.coreos.com/v1 ServiceMonitor shardinit (not validated: unknown kind)"; r.String() != want {
		t.Errorf("line = %q, want %q", r.String(), want)
	}
}

func TestUnknownKind(t *testing.T) {
	doc := "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 3}\n"
	r := one(t, doc, Options{})
	if r.Status != StatusFail || !strings.Contains(r.Err.Error(), "unknown kind") {
		t.Fatalf("want FAIL unknown kind, got %v", r)
	}
	r = one(t, doc, Options{AllowUnknownKinds: parseKinds("ServiceMonitor, Widget")})
	if r.Status != StatusSkip {
		t.Fatalf("want skip, got %v", r)
	}
	r = one(t, doc, Options{AllowUnknownKinds: parseKinds("*")})
	if r.Status != StatusSkip {
		t.Fatalf("want skip with *, got %v", r)
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(goodDeployment+"---\n"+goodServiceMonitor), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{good}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "ok apps/v1 Deployment default/shardinit\n") {
		t.Errorf("stdout:\n%s", out.String())
	}

	out.Reset()
	errOut.Reset()
	bad := strings.Replace(goodDeployment, "replicas:", "replicass:", 1)
	stdin := strings.NewReader(bad + "---\n" + goodService)
	code := run([]string{"-namespace", "ns1", "-"}, stdin, &out, &errOut)
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s", code, out.String())
	}
	for _, want := range []string{"FAIL apps/v1 Deployment ns1/shardinit [<stdin>, document 1]", "ok v1 Service prod/shardinit", "1 ok, 0 not validated, 1 failed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}

	if code := run([]string{filepath.Join(dir, "missing.yaml")}, nil, &out, &errOut); code == 0 {
		t.Error("missing file: exit 0")
	}
	if code := run(nil, nil, &out, &errOut); code != 2 {
		t.Errorf("no args: exit %d, want 2", code)
	}
}

const goodPrometheusRule = `
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: shardinit
spec:
  groups:
    - name: shardinit
      rules:
        - alert: ShardinitNotReady
          expr: shardinit_ready == 0
          for: 5m
          labels: {severity: warning}
          annotations: {summary: "{{ $labels.pod }} is not ready"}
        - record: namespace:shardinit_ready:sum
          expr: sum by (namespace) (shardinit_ready)
`

func TestPrometheusRule(t *testing.T) {
	r := one(t, goodPrometheusRule, Options{})
	if r.Status != StatusOK {
		t.Fatalf("want ok, got %v", r)
	}
	if !strings.HasPrefix(r.String(), "ok monitoring.coreos.com/v1 PrometheusRule default/shardinit") {
		t.Errorf("line = %q", r.String())
	}
	for _, c := range []struct{ name, old, new, want string }{
		{"typo", "annotations:", "anotations:", `unknown field "spec.groups[0].rules[0].anotations"`},
		{"duration", "for: 5m", "for: 5 minutes", "spec.groups[0].rules[0].for"},
		{"no expr", "          expr: shardinit_ready == 0\n", "", "spec.groups[0].rules[0].expr: Required value"},
		{"alert and record", "- alert: ShardinitNotReady", "- alert: ShardinitNotReady\n          record: x", "mutually exclusive"},
		{"alert name", "alert: ShardinitNotReady", "alert: Shardinit not ready", "spec.groups[0].rules[0].alert"},
		{"label name", "{severity: warning}", "{sever-ity: warning}", "must be a Prometheus label name"},
		{"for on a record", "          expr: sum by", "          for: 1m\n          expr: sum by", "only an alert has for"},
		{"duplicate group", "      rules:\n        - alert", "      rules:\n        - record: a\n          expr: \"1\"\n    - name: shardinit\n      rules:\n        - alert", "Duplicate value"},
	} {
		doc := strings.Replace(goodPrometheusRule, c.old, c.new, 1)
		if doc == goodPrometheusRule {
			t.Fatalf("%s: the replacement changed nothing", c.name)
		}
		r := one(t, doc, Options{})
		if r.Status != StatusFail || !strings.Contains(r.Err.Error(), c.want) {
			t.Errorf("%s: got %v, want FAIL saying %q", c.name, r, c.want)
		}
	}
}
