package connector

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
)

// addTimeKeys are the keys of add_time's mappings.
var addTimeKeys = []struct {
	key  string
	keys []string
}{
	{"to_column", []string{"name", "type", "unix_timestamp_unit"}},
	{"from_value", []string{"mode", "value", "from", "to", "timestamp_format", "timezone", "unix_timestamp_unit"}},
	{"from_column", []string{"name", "unix_timestamp_unit", "timestamp_format", "timezone"}},
}

// checkFilterKeys refuses unknown keys in filters:, and keys another type
// of filter takes, by name with their line.
func checkFilterKeys(fs *yaml.Node) error {
	if fs == nil || (fs.Kind == yaml.ScalarNode && fs.Tag == "!!null") {
		return nil
	}
	if fs.Kind != yaml.SequenceNode {
		return fmt.Errorf("config line %d: filters must be a list", fs.Line)
	}
	for i, f := range fs.Content {
		where := fmt.Sprintf("filters[%d]", i)
		typ := ""
		if t := child(f, "type"); t != nil {
			typ = t.Value
		}
		allowed, ok := filterKeys[typ]
		if !ok {
			// Validate names the type; here only keys no filter takes.
			for _, t := range filterTypes {
				allowed = append(allowed, filterKeys[t]...)
			}
			slices.Sort(allowed)
			allowed = slices.Compact(allowed)
		}
		if err := checkKeys(f, where, allowed); err != nil {
			return err
		}
		for _, key := range []string{"columns", "drop_columns", "add_columns", "expanded_columns"} {
			cols := child(f, key)
			if cols == nil {
				continue
			}
			if cols.Kind != yaml.SequenceNode {
				return fmt.Errorf("config line %d: %s.%s must be a list", cols.Line, where, key)
			}
			ck, ok := filterColumnKeys[typ]
			if !ok {
				continue
			}
			for _, col := range cols.Content {
				if err := checkKeys(col, where+"."+key, ck); err != nil {
					return err
				}
			}
		}
		for _, k := range addTimeKeys {
			if m := child(f, k.key); m != nil {
				if err := checkKeys(m, where+"."+k.key, k.keys); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
