package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// row is one documented value.
type row struct {
	key, kind, def, text string
}

// documented reads values.yaml and returns its documented values in order,
// or every value that lacks a "# --" comment.
func documented(values []byte) ([]row, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(values, &doc); err != nil {
		return nil, fmt.Errorf("values.yaml: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("values.yaml: not a map")
	}
	w := walker{}
	w.mapping("", doc.Content[0], false)
	if len(w.missing) > 0 {
		return nil, fmt.Errorf("values.yaml: no \"# --\" comment for %s", strings.Join(w.missing, ", "))
	}
	return w.rows, w.err
}

type walker struct {
	rows    []row
	missing []string
	err     error
}

// mapping walks a map's keys; covered says a map above was documented.
func (w *walker) mapping(prefix string, m *yaml.Node, covered bool) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, value := m.Content[i], m.Content[i+1]
		path := prefix + key.Value
		text, ok := description(key.HeadComment)
		if ok {
			w.add(path, value, text)
		}
		switch {
		case value.Kind == yaml.MappingNode && len(value.Content) > 0:
			w.mapping(path+".", value, covered || ok)
		case !ok && !covered:
			w.missing = append(w.missing, path)
		}
	}
}

// typed is a description's leading "(TYPE) ".
var typed = regexp.MustCompile(`^\(([a-z][a-z0-9 ]*)\) `)

func (w *walker) add(path string, value *yaml.Node, text string) {
	var v any
	if err := value.Decode(&v); err != nil {
		w.err = fmt.Errorf("values.yaml: %s: %w", path, err)
		return
	}
	def, err := json.Marshal(v)
	if err != nil {
		w.err = fmt.Errorf("values.yaml: %s: %w", path, err)
		return
	}
	kind := kindOf(v)
	if m := typed.FindStringSubmatch(text); m != nil {
		kind, text = m[1], text[len(m[0]):]
	}
	w.rows = append(w.rows, row{key: path, kind: kind, def: string(def), text: text})
}

// description is the text of a "# --" comment, its lines joined: the
// lines before the "# --" one belong to something else (a heading).
func description(comment string) (string, bool) {
	lines := strings.Split(comment, "\n")
	for i, l := range lines {
		rest, ok := strings.CutPrefix(l, "# --")
		if !ok || (rest != "" && rest[0] != ' ') {
			continue
		}
		words := []string{strings.TrimSpace(rest)}
		for _, more := range lines[i+1:] {
			words = append(words, strings.TrimSpace(strings.TrimPrefix(more, "#")))
		}
		return strings.TrimSpace(strings.Join(words, " ")), true
	}
	return "", false
}

func kindOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case int:
		return "int"
	case float64:
		return "float"
	case string:
		return "string"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// table is the rows as a Markdown table.
func table(rows []row) string {
	var b strings.Builder
	b.WriteString("| Key | Type | Default | Description |\n| --- | --- | --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s | `%s` | %s |\n", r.key, r.kind, cell(r.def), text(r.text))
	}
	return b.String()
}

// cell escapes what would end a table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// text escapes a description for a cell: "<release>" would be read as
// HTML, but in a code span (between backticks) it is shown as it is.
func text(s string) string {
	parts := strings.Split(s, "`")
	html := strings.NewReplacer("<", "&lt;", ">", "&gt;")
	for i := 0; i < len(parts); i += 2 {
		parts[i] = html.Replace(parts[i])
	}
	return cell(strings.Join(parts, "`"))
}
