package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// loadFile reads a YAML file over vals. Unknown keys are errors: a typo must
// not silently leave a default in place.
func loadFile(path string, vals values) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usagef("config %s: %w", path, err)
	}
	if err := decodeConfig(data, path, vals); err != nil {
		return usagef("config %s: %w", path, err)
	}
	return nil
}

// decodeConfig sets the values that the YAML in data names, one key at a
// time, so that each error names its key; the rows check them later, as
// they check flags. Keys must match exactly: "Workers" is not workers.
func decodeConfig(data []byte, path string, vals values) error {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return yamlError(err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(js, &keys); err != nil {
		return errors.New("want a map of settings (keys are the flag names)")
	}
	// In a fixed order, so that the first problem is always the one shown.
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		s, ok := rowNamed(key)
		if !ok {
			return unknownKey(key, settingNames())
		}
		v, err := s.fromJSON(keys[key])
		if err != nil {
			return fmt.Errorf("key %q: %w", key, err)
		}
		if v != nil {
			v.file = path
			vals[key] = *v
		}
	}
	return nil
}

// fromJSON is a key's value: a scalar as its text (stop-signal: 15,
// preload: true), a list of scalars for a list; nil for null, which
// leaves the value as it was. Numbers keep the text they were written in.
func (s setting) fromJSON(raw json.RawMessage) (*value, error) {
	var decoded any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&decoded); err != nil {
		return nil, err
	}
	if decoded == nil {
		return nil, nil
	}
	if s.kind != listKind {
		text, ok := scalarText(decoded)
		if !ok {
			return nil, fmt.Errorf("want %s, not %s", s.kind.what(), shape(decoded))
		}
		return &value{text: text}, nil
	}
	items, ok := decoded.([]any)
	if !ok {
		return nil, fmt.Errorf("want a list, not %s", shape(decoded))
	}
	v := &value{list: []string{}}
	for _, item := range items {
		text, ok := scalarText(item)
		if !ok {
			return nil, errors.New("want a list of strings or numbers")
		}
		v.list = append(v.list, text)
	}
	return v, nil
}

// scalarText is a decoded JSON string, number or boolean as text.
func scalarText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// shape names what a JSON value is, for an error.
func shape(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a map"
	case []any:
		return "a list"
	}
	return "a single value"
}

// what a value of a kind is, for an error.
func (k kind) what() string {
	switch k {
	case numberKind:
		return "a whole number"
	case durationKind:
		return "a duration"
	case switchKind:
		return "true or false"
	case sizeKind:
		return "a size"
	}
	return "a string"
}

// settingNames are the table's names, sorted.
func settingNames() []string {
	var names []string
	for _, s := range table {
		names = append(names, s.name)
	}
	return slices.Sorted(slices.Values(names))
}

func unknownKey(key string, names []string) error {
	for _, name := range names {
		if strings.EqualFold(name, key) {
			return fmt.Errorf("unknown key %q (keys are lower case: %s)", key, name)
		}
	}
	if name := nearest(names, key); name != "" {
		return fmt.Errorf("unknown key %q (did you mean %s?)", key, name)
	}
	return fmt.Errorf("unknown key %q", key)
}

// yamlError is the YAML parser's error on one line: a duplicate key comes
// as "unmarshal errors:" and a line per error.
func yamlError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(strings.TrimPrefix(msg, "yaml: "), "unmarshal errors:\n")
	lines := strings.Split(msg, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return errors.New(strings.Join(lines, "; "))
}
