package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// loadFile reads a YAML file over cfg. Unknown keys are errors: a typo must
// not silently leave a default in place.
func loadFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usagef("config %s: %w", path, err)
	}
	if err := decodeConfig(data, cfg); err != nil {
		return usagef("config %s: %w", path, err)
	}
	return nil
}

// decodeConfig sets the fields of cfg that the YAML in data names, one key
// at a time, so that each error names its key. Keys must match exactly:
// encoding/json alone would take "Workers" for "workers".
func decodeConfig(data []byte, cfg *Config) error {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return yamlError(err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(js, &keys); err != nil {
		return errors.New("want a map of settings (keys are the flag names)")
	}
	fields := configFields(cfg)
	// In a fixed order, so that the first problem is always the one shown.
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		field, ok := fields[key]
		if !ok {
			return unknownKey(key, fields)
		}
		if err := json.Unmarshal(scalarsAsText(field, keys[key]), field); err != nil {
			return fmt.Errorf("key %q: %s", key, valueError(err))
		}
	}
	return nil
}

// configFields maps each YAML key to its field of cfg.
func configFields(cfg *Config) map[string]any {
	v := reflect.ValueOf(cfg).Elem()
	fields := map[string]any{}
	for i := range v.NumField() {
		key, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		fields[key] = v.Field(i).Addr().Interface()
	}
	return fields
}

// scalarsAsText turns numbers and booleans into strings where the field
// holds text (stop-signal: 15, user: 1000, command: [sleep, 10]), as
// sigs.k8s.io/yaml does when it is given the whole struct.
func scalarsAsText(field any, raw json.RawMessage) json.RawMessage {
	switch field.(type) {
	case *string:
		return quoteScalar(raw)
	case *[]string:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return raw
		}
		for i := range items {
			items[i] = quoteScalar(items[i])
		}
		out, _ := json.Marshal(items)
		return out
	}
	return raw
}

func quoteScalar(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.ContainsAny(raw[:1], `"{[n`) { // a string, an object, a list, null
		return raw
	}
	out, _ := json.Marshal(string(raw))
	return out
}

func unknownKey(key string, fields map[string]any) error {
	names := slices.Sorted(maps.Keys(fields))
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

// valueError says what a key's value should have been.
func valueError(err error) string {
	var typ *json.UnmarshalTypeError
	if !errors.As(err, &typ) {
		return err.Error()
	}
	got := strings.TrimPrefix(typ.Value, "number ") // too big, or not whole
	return fmt.Sprintf("want %s, not %s", yamlType(typ.Type.String()), got)
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
