package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "write the README's settings table from the table (make docs)")

// The README's settings table is the one the table makes.
func TestReadmeSettings(t *testing.T) {
	const path = "../../README.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	before, rest, ok := strings.Cut(readme, readmeBegin)
	old, after, ok2 := strings.Cut(rest, readmeEnd)
	if !ok || !ok2 {
		t.Fatalf("%s has no %q … %q", path, readmeBegin, readmeEnd)
	}
	want := readmeSettings()
	if *update {
		if err := os.WriteFile(path, []byte(before+readmeBegin+want+readmeEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if old != want {
		t.Errorf("the README's settings table is not the table's: run make docs. The table makes:\n%s", want)
	}
}

// chartChoices are the chart's defaults that are not shardinit's, each
// chosen for a pod in a cluster.
var chartChoices = map[string]string{
	"drain-delay":  "5s: Endpoints and load balancers take a few seconds to stop sending to a pod that stops",
	"stop-timeout": "20s: within the pod's grace period, derived as drain + stop + 5 s, requests get longer to finish",
	"log-format":   "json: what a cluster's log pipeline parses",
}

// The chart's shardinit.yaml has only keys the table has, and its defaults
// are the table's but for chartChoices.
func TestChartSettings(t *testing.T) {
	tmpl, err := os.ReadFile("../../deploy/helm/shardinit/templates/configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../deploy/helm/shardinit/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		Shardinit map[string]any `json:"shardinit"`
	}
	if err := yaml.Unmarshal(raw, &chart); err != nil {
		t.Fatal(err)
	}
	key := regexp.MustCompile(`^    ([a-z-]+): (.*)$`)
	ref := regexp.MustCompile(`\$s\.(\w+)`)
	seen := 0
	for _, line := range strings.Split(string(tmpl), "\n") {
		m := key.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		s, ok := rowNamed(m[1])
		if !ok || s.file {
			t.Errorf("the chart writes %q, which is no setting", m[1])
			continue
		}
		seen++
		r := ref.FindStringSubmatch(m[2])
		if r == nil || s.kind == listKind {
			continue // written from more than one value, or under a condition
		}
		got, want := chartDefault(t, s, r[1], chart.Shardinit[r[1]]), s.def
		if s.kind == durationKind {
			want = shortDuration(want)
		}
		why, chosen := chartChoices[s.name]
		switch {
		case got != want && !chosen:
			t.Errorf("the chart's %s (%s) is %s, the default %s: make them agree, or say why in chartChoices", r[1], s.name, got, want)
		case got == want && chosen:
			t.Errorf("chartChoices says the chart's %s differs (%s), but it is the default %s", s.name, why, want)
		}
	}
	if seen < 10 {
		t.Fatalf("found %d settings in the chart's configmap; has its layout changed?", seen)
	}
	// The keys shardinit.settings may not repeat are the ones written above.
	var written []string
	for _, m := range regexp.MustCompile(`(?m)^    ([a-z-]+):`).FindAllStringSubmatch(string(tmpl), -1) {
		written = append(written, m[1])
	}
	own := regexp.MustCompile(`\$own := list ((?:"[a-z-]+" ?)+)`).FindStringSubmatch(string(tmpl))
	if own == nil {
		t.Fatal("the chart's configmap has no $own list of the keys it writes")
	}
	listed := strings.Fields(strings.ReplaceAll(own[1], `"`, ""))
	if !slices.Equal(slices.Sorted(slices.Values(listed)), slices.Sorted(slices.Values(written))) {
		t.Errorf("the configmap's $own list %v is not the keys it writes %v", listed, written)
	}
}

// chartDefault is the chart's value name in the form of s's default: a
// number of seconds as a duration, the health port as an address.
func chartDefault(t *testing.T, s setting, name string, v any) string {
	t.Helper()
	switch {
	case v == nil:
		t.Errorf("the chart's configmap uses shardinit.%s, which values.yaml lacks", name)
		return ""
	case strings.HasSuffix(name, "Seconds"):
		return shortDuration((time.Duration(v.(float64)) * time.Second).String())
	case s.name == "health-addr":
		return fmt.Sprintf(":%v", v)
	}
	return fmt.Sprint(v)
}

// The chart's version and appVersion are the release CHANGELOG.md leads
// to, and scripts/version says a semantic version of it.
func TestReleaseVersions(t *testing.T) {
	changelog, err := os.ReadFile("../../CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^## (\d+\.\d+\.\d+)\b`).FindSubmatch(changelog)
	if m == nil {
		t.Fatal("CHANGELOG.md has no \"## X.Y.Z\" heading")
	}
	release := string(m[1])
	raw, err := os.ReadFile("../../deploy/helm/shardinit/Chart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		Version    string `json:"version"`
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(raw, &chart); err != nil {
		t.Fatal(err)
	}
	if chart.Version != release || chart.AppVersion != release {
		t.Errorf("Chart.yaml has version %s, appVersion %s; CHANGELOG.md's release is %s", chart.Version, chart.AppVersion, release)
	}
	out, err := exec.Command("../../scripts/version").Output()
	if err != nil {
		t.Fatalf("scripts/version: %v", err)
	}
	v := strings.TrimSpace(string(out))
	semver := regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	if !semver.MatchString(v) || !strings.HasPrefix(v, release) {
		t.Errorf("scripts/version says %q: want a semantic version of %s", v, release)
	}
}

// The chart's shardinit.settings takes every setting of the table by name:
// its schema (definitions.shardinitSettings, one line that make docs
// writes) is the table's.
func TestChartSettingsSchema(t *testing.T) {
	const path = "../../deploy/helm/shardinit/values.schema.json"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const prefix = `    "shardinitSettings": `
	lines := strings.Split(string(data), "\n")
	at := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, prefix) })
	if at < 0 {
		t.Fatalf("%s has no line %q", path, prefix)
	}
	want := prefix + settingsSchema()
	if strings.HasSuffix(lines[at], ",") {
		want += ","
	}
	if *update {
		lines[at] = want
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if lines[at] != want {
		t.Errorf("the chart's schema for shardinit.settings is not the table's: run make docs.\ngot:  %s\nwant: %s", lines[at], want)
	}
}

// settingsSchema is the JSON schema of a map of settings by name, in the
// table's order.
func settingsSchema() string {
	kinds := map[kind]string{
		textKind:     `{"type":"string"}`,
		numberKind:   `{"type":"integer"}`,
		durationKind: `{"type":["string","number"]}`,
		switchKind:   `{"type":"boolean"}`,
		listKind:     `{"type":"array","items":{"type":["string","integer"]}}`,
	}
	var props []string
	for _, s := range table {
		if !s.file {
			props = append(props, fmt.Sprintf("%q:%s", s.name, kinds[s.kind]))
		}
	}
	return `{"description":"shardinit settings by name, as in shardinit.yaml (written by make docs from cmd/shardinit/table.go)",` +
		`"type":"object","additionalProperties":false,"properties":{` + strings.Join(props, ",") + `}}`
}
