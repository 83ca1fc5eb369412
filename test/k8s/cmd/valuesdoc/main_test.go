package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const values = `# A heading for the file, not a value's.

# -- Number of pods.
replicaCount: 2

# A heading: image is not documented itself.
image:
  # -- The image; "" fails. See <release>-x and ` + "`<kept>`" + `.
  # It goes on | here.
  repository: ""

# -- (int) Seconds; null: derived.
grace: null

# -- Documented as a whole: its keys need no comment.
resources:
  limits: {cpu: "1"}

probes:
  # -- A map with a comment, whose keys have theirs.
  liveness:
    # -- Seconds between probes.
    periodSeconds: 10
`

// chartDir writes a chart with the given values.yaml.
func chartDir(t *testing.T, values string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string]string{
		"Chart.yaml":       "apiVersion: v2\nname: demo\ndescription: A demo.\nversion: 1.2.3\nappVersion: \"4.5\"\nhome: https://example.com\n",
		"values.yaml":      values,
		"README.md.gotmpl": "# {{ .Name }} {{ .Version }} ({{ .AppVersion }})\n\n{{ .Description }}\n\n{{ .Values }}",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func valuesdoc(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := run(args, &out, &out)
	return code, out.String()
}

func TestReadme(t *testing.T) {
	dir := chartDir(t, values)
	if code, out := valuesdoc(t, dir); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := "# demo 1.2.3 (4.5)\n\nA demo.\n\n" +
		"| Key | Type | Default | Description |\n| --- | --- | --- | --- |\n" +
		"| `replicaCount` | int | `2` | Number of pods. |\n" +
		"| `image.repository` | string | `\"\"` | The image; \"\" fails. See &lt;release&gt;-x and `<kept>`. It goes on \\| here. |\n" +
		"| `grace` | int | `null` | Seconds; null: derived. |\n" +
		"| `resources` | object | `{\"limits\":{\"cpu\":\"1\"}}` | Documented as a whole: its keys need no comment. |\n" +
		"| `probes.liveness` | object | `{\"periodSeconds\":10}` | A map with a comment, whose keys have theirs. |\n" +
		"| `probes.liveness.periodSeconds` | int | `10` | Seconds between probes. |\n"
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if code, out := valuesdoc(t, "-check", dir); code != 0 {
		t.Errorf("-check after writing: exit %d: %s", code, out)
	}
}

func TestStale(t *testing.T) {
	dir := chartDir(t, values)
	if code, out := valuesdoc(t, dir); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	changed := strings.Replace(values, "replicaCount: 2", "replicaCount: 3", 1)
	if err := os.WriteFile(filepath.Join(dir, "values.yaml"), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := valuesdoc(t, "-check", dir); code != 1 || !strings.Contains(out, "run deploy/render.sh") {
		t.Errorf("-check of a stale README: exit %d, %q; want 1 and the fix", code, out)
	}
}

func TestUndocumented(t *testing.T) {
	undocumented := values + "\nservice:\n  # -- Documented.\n  enabled: true\n  type: ClusterIP\nextra: []\n"
	code, out := valuesdoc(t, "-check", chartDir(t, undocumented))
	if code != 1 || !strings.Contains(out, `no "# --" comment for service.type, extra`) {
		t.Errorf("exit %d, %q; want 1 naming service.type and extra", code, out)
	}
}
