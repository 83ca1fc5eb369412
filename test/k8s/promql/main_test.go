package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const metricsGo = `package health
var (
	descReady = desc("shardinit_ready", "1 while /readyz answers 200.")
	descRestarts = desc("shardinit_worker_restarts_total", "Workers started to replace an earlier one.", "reason")
	descStartToReady = desc("shardinit_worker_start_to_ready_seconds", "How long each worker took.")
)
`

const rule = `# Source: shardinit/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata: {name: shardinit}
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: shardinit
spec:
  groups:
    - name: shardinit
      rules:
        - alert: ShardinitCrashLooping
          expr: sum by (pod) (increase(shardinit_worker_restarts_total{reason=~"crash|stuck"}[15m])) >= 3
          labels: {severity: warning}
          annotations:
            summary: "{{ $labels.pod }} restarted {{ $value | printf \"%.0f\" }} workers"
        - record: pod:shardinit_ready:max
          expr: max by (pod) (shardinit_ready)
`

const dashboard = `{
  "title": "shardinit", "uid": "shardinit",
  "templating": {"list": [
    {"name": "namespace", "type": "query", "query": {"query": "label_values(shardinit_ready, namespace)"}},
    {"name": "datasource", "type": "datasource", "query": "prometheus"}
  ]},
  "panels": [
    {"title": "Ready", "targets": [{"refId": "A", "expr": "sum(shardinit_ready{namespace=~\"$namespace\"})"}]},
    {"title": "Row", "type": "row", "panels": [
      {"title": "Start to ready", "targets": [{"refId": "A",
        "expr": "histogram_quantile(0.99, sum by (le) (rate(shardinit_worker_start_to_ready_seconds_bucket[$__rate_interval])))"}]}
    ]}
  ]
}`

// promql runs the command on files of the given names and contents, with
// metricsGo as the declared metrics.
func promql(t *testing.T, files map[string]string) (int, string) {
	t.Helper()
	dir := t.TempDir()
	args := []string{"-metrics", filepath.Join(dir, "metrics.go")}
	if err := os.WriteFile(args[1], []byte(metricsGo), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, path)
	}
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String() + stderr.String()
}

func TestGood(t *testing.T) {
	code, out := promql(t, map[string]string{"render.yaml": rule, "dash.json": dashboard})
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, out)
	}
	for _, want := range []string{"render.yaml: 2 expressions, 2 templates, 2 shardinit metrics named", "dash.json: 3 expressions, 0 templates, 2 shardinit metrics named"} {
		if !strings.Contains(out, want) {
			t.Errorf("got:\n%s\nwant a line with %q", out, want)
		}
	}
}

func TestBad(t *testing.T) {
	for _, c := range []struct{ name, file, old, new, want string }{
		{"syntax", "r.yaml", ">= 3", ">= ", "ShardinitCrashLooping: 1:"},
		{"unknown metric", "r.yaml", "max by (pod) (shardinit_ready)", "max by (pod) (shardinit_redy)", "no such metric shardinit_redy"},
		{"template", "r.yaml", "{{ $labels.pod }}", "{{ $labels.pod }", "annotation summary"},
		{"template variable", "r.yaml", "{{ $labels.pod }}", "{{ $label.pod }}", "undefined variable"},
		{"dashboard metric", "d.json", "shardinit_ready{", "shardinit_readyz{", `panel "Ready", query A: no such metric shardinit_readyz`},
		{"dashboard variable", "d.json", "label_values(shardinit_ready,", "label_values(shardinit_up,", "variable namespace: no such metric shardinit_up"},
		{"dashboard JSON", "d.json", `"uid": "shardinit",`, `"uid": "shardinit"`, "not a dashboard"},
	} {
		src := rule
		if strings.HasSuffix(c.file, ".json") {
			src = dashboard
		}
		bad := strings.Replace(src, c.old, c.new, 1)
		if bad == src {
			t.Fatalf("%s: the replacement changed nothing", c.name)
		}
		code, out := promql(t, map[string]string{c.file: bad})
		if code != 1 || !strings.Contains(out, c.want) {
			t.Errorf("%s: exit %d, output:\n%s\nwant exit 1 and %q", c.name, code, out, c.want)
		}
	}
}

func TestNoMetricsDeclared(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "metrics.go")
	if err := os.WriteFile(empty, []byte("package health\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := run([]string{"-metrics", empty, empty}, &out, &out); code != 2 {
		t.Errorf("exit %d, want 2 for a metrics file that declares nothing:\n%s", code, out.String())
	}
}
