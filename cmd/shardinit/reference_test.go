package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/shardinit/shardinit/pkg/balance"
	"github.com/shardinit/shardinit/pkg/health"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "write docs/settings.md's table and the chart schema's settings line from the table (make docs)")

// The table of docs/settings.md is the one the table makes.
func TestSettingsDoc(t *testing.T) {
	const path = "../../docs/settings.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := strings.Cut(string(data), settingsBegin)
	old, after, ok2 := strings.Cut(rest, settingsEnd)
	if !ok || !ok2 {
		t.Fatalf("%s has no %q … %q", path, settingsBegin, settingsEnd)
	}
	want := settingsDoc()
	if *update {
		if err := os.WriteFile(path, []byte(before+settingsBegin+want+settingsEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if old != want {
		t.Errorf("the table of %s is not the settings table's: run make docs. The table makes:\n%s", path, want)
	}
}

// docServers is the page of per-server guides, which another change
// writes: until it exists, links to it are skipped rather than failed.
const docServers = "docs/servers.md"

// Every relative link of the documentation (README.md, CONTRIBUTING.md,
// docs/*.md) names a file that exists and, with #anchor, a heading in it.
func TestDocLinks(t *testing.T) {
	const root = "../.."
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append([]string{filepath.Join(root, "README.md"), filepath.Join(root, "CONTRIBUTING.md")}, pages...)
	for _, page := range pages {
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		name, _ := filepath.Rel(root, page)
		for _, target := range docLinks(string(data)) {
			path, anchor, _ := strings.Cut(target, "#")
			file := page
			if path != "" {
				file = filepath.Join(filepath.Dir(page), path)
			}
			if rel, _ := filepath.Rel(root, file); rel == docServers && !exists(file) {
				t.Logf("%s: link %s skipped: %s is not written yet", name, target, docServers)
				continue
			}
			if problem := linkProblem(file, anchor); problem != "" {
				t.Errorf("%s: link %s: %s", name, target, problem)
			}
		}
	}
}

// linkProblem says what is wrong with a link to file#anchor, or "".
func linkProblem(file, anchor string) string {
	if !exists(file) {
		return "no such file"
	}
	if anchor == "" {
		return ""
	}
	if filepath.Ext(file) != ".md" {
		return "an anchor into a file that is not Markdown"
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err.Error()
	}
	if !slices.Contains(headingAnchors(string(data)), anchor) {
		return "no heading #" + anchor + " in " + filepath.Base(file)
	}
	return ""
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

var (
	mdLink     = regexp.MustCompile(`\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	codeSpan   = regexp.MustCompile("`[^`]*`")
	mdHeading  = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*$`)
	linkInText = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// docLinks are the relative targets of the page's links and images, outside
// code blocks and code spans.
func docLinks(page string) []string {
	var targets []string
	for _, line := range proseLines(page) {
		for _, m := range mdLink.FindAllStringSubmatch(codeSpan.ReplaceAllString(line, ""), -1) {
			if !strings.Contains(m[1], "://") && !strings.HasPrefix(m[1], "mailto:") {
				targets = append(targets, m[1])
			}
		}
	}
	return targets
}

// headingAnchors are the anchors GitHub gives the page's headings: the text
// in lower case, spaces as hyphens, punctuation dropped, and -1, -2 … after
// a repeated one.
func headingAnchors(page string) []string {
	var anchors []string
	seen := map[string]int{}
	for _, line := range proseLines(page) {
		m := mdHeading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		a := slug(linkInText.ReplaceAllString(m[1], "$1"))
		if n := seen[a]; n > 0 {
			anchors = append(anchors, fmt.Sprintf("%s-%d", a, n))
		} else {
			anchors = append(anchors, a)
		}
		seen[a]++
	}
	return anchors
}

func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// proseLines are the page's lines outside fenced code blocks.
func proseLines(page string) []string {
	var lines []string
	fenced := false
	for _, line := range strings.Split(page, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			lines = append(lines, line)
		}
	}
	return lines
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
		sizeKind:     `{"type":["string","integer"]}`,
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

// Every metric shardinit serves has its row in docs/health-and-metrics.md,
// and the page documents no metric that is not served.
func TestMetricsDoc(t *testing.T) {
	page, err := os.ReadFile("../../docs/health-and-metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(shardinit_[a-z_]+)` \\|").FindAllStringSubmatch(string(page), -1) {
		documented = append(documented, m[1])
	}
	served := slices.Concat(health.MetricNames, balance.MetricNames)
	for _, name := range served {
		if !slices.Contains(documented, name) {
			t.Errorf("%s is served but has no row in docs/health-and-metrics.md", name)
		}
	}
	for _, name := range documented {
		if !slices.Contains(served, name) {
			t.Errorf("docs/health-and-metrics.md documents %s, which is not served", name)
		}
	}
}
