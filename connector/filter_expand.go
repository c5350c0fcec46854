package connector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/s3bridge/s3bridge/format"
	"github.com/theory/jsonpath"
)

// ExpandJSON is the expand_json filter's options (Embulk's
// embulk-filter-expand_json): a JSON column expanded into typed columns,
// each found by a JSONPath (RFC 9535) under Root.
type ExpandJSON struct {
	// JSONColumnName is the string or json column to expand.
	JSONColumnName string `yaml:"json_column_name,omitempty" json:"json_column_name,omitempty"`
	// Root is prefixed to each expanded column's name to make its path
	// (default "$.").
	Root string `yaml:"root,omitempty" json:"root,omitempty"`
	// ExpandedColumns are the columns made, in place of the JSON column.
	ExpandedColumns []FilterColumn `yaml:"expanded_columns,omitempty" json:"expanded_columns,omitempty"`
	// KeepExpandingJSONColumn keeps the JSON column, the expanded columns
	// after it.
	KeepExpandingJSONColumn bool `yaml:"keep_expanding_json_column,omitempty" json:"keep_expanding_json_column,omitempty"`
	// StopOnInvalidRecord fails the run on a row whose JSON does not
	// parse or whose value does not convert to its column's type; false
	// skips the row and reports it. Default: the parser's.
	StopOnInvalidRecord *bool `yaml:"stop_on_invalid_record,omitempty" json:"stop_on_invalid_record,omitempty"`
	// DefaultTimezone is the zone of expanded timestamps without one
	// (default: the parser's).
	DefaultTimezone string `yaml:"default_timezone,omitempty" json:"default_timezone,omitempty"`
}

// expandStage expands one JSON column of its input row.
type expandStage struct {
	json  int    // the JSON column of the input row
	name  string // its name
	from  []int  // each output column: an input column (>= 0) or expanded column -1-k
	paths []*jsonpath.Path
	exprs []string // the paths as written
	one   []bool   // the path selects at most one node
	cols  []Column
	conv  *converter
	skip  bool
}

// skipBad reports whether the parser skips bad rows.
func (p Parser) skipBad() bool { return p.StopOnInvalidRecord != nil && !*p.StopOnInvalidRecord }

func (f Filter) expandStage(in []Column, p Parser) (stage, []Column, error) {
	e := &expandStage{name: f.JSONColumnName, skip: p.skipBad()}
	if f.StopOnInvalidRecord != nil {
		e.skip = !*f.StopOnInvalidRecord
	}
	if f.JSONColumnName == "" {
		return nil, nil, errors.New("json_column_name is required")
	}
	if e.json = columnIndexIn(in, f.JSONColumnName); e.json < 0 {
		return nil, nil, fmt.Errorf("json_column_name: %q is not a column", f.JSONColumnName)
	}
	if t := in[e.json].Type; t != TypeString && t != TypeJSON {
		return nil, nil, fmt.Errorf("json_column_name: %q is a %s, not a string or json column", f.JSONColumnName, t)
	}
	if len(f.ExpandedColumns) == 0 {
		return nil, nil, errors.New("expanded_columns is required")
	}
	root := cmpOr(f.Root, "$.")
	var out []Column
	for i, c := range in {
		if i == e.json {
			if f.KeepExpandingJSONColumn {
				out, e.from = append(out, c), append(e.from, i)
			}
			for k, fc := range f.ExpandedColumns {
				out, e.from = append(out, Column{Name: fc.Name, Type: fc.Type, Format: fc.Format, Timezone: fc.Timezone}), append(e.from, -1-k)
			}
			continue
		}
		out, e.from = append(out, c), append(e.from, i)
	}
	for _, fc := range f.ExpandedColumns {
		if fc.Name == "" {
			return nil, nil, errors.New("expanded_columns: a column has no name")
		}
		if !slices.Contains(columnTypes, fc.Type) {
			return nil, nil, fmt.Errorf("expanded_columns: %q: type %q: want one of %s", fc.Name, fc.Type, strings.Join(columnTypes, ", "))
		}
		if n := columnIndexIn(in, fc.Name); n >= 0 && (n != e.json || f.KeepExpandingJSONColumn) {
			return nil, nil, fmt.Errorf("expanded_columns: %q is a column already", fc.Name)
		}
		if columnIndexIn(e.cols, fc.Name) >= 0 {
			return nil, nil, fmt.Errorf("expanded_columns: %q appears twice", fc.Name)
		}
		// "$." and "['a-b']" make "$['a-b']", and "$." and "..id" make
		// "$..id", as Embulk's JSONPath reads them.
		expr := root + fc.Name
		if strings.HasSuffix(root, ".") && (strings.HasPrefix(fc.Name, "[") || strings.HasPrefix(fc.Name, "..")) {
			expr = strings.TrimSuffix(root, ".") + fc.Name
		}
		pth, err := jsonpath.Parse(expr)
		if err != nil {
			return nil, nil, fmt.Errorf("expanded_columns: %q: JSONPath %s: %w", fc.Name, expr, err)
		}
		e.paths, e.exprs = append(e.paths, pth), append(e.exprs, expr)
		e.one = append(e.one, pth.Query().Singular() != nil)
		e.cols = append(e.cols, Column{Name: fc.Name, Type: fc.Type, Format: fc.Format, Timezone: fc.Timezone})
	}
	var err error
	e.conv, err = newConverter(Parser{Columns: e.cols, DefaultTimezone: cmpOr(f.DefaultTimezone, p.DefaultTimezone)})
	if err != nil {
		return nil, nil, fmt.Errorf("expanded_columns: %w", err)
	}
	return e, out, nil
}

func (e *expandStage) bind(FilterRun) (stage, error) { return e, nil }

func (e *expandStage) row(out, in []any, rc *rowContext) error {
	var doc any
	hasDoc := false
	if v := in[e.json]; v != nil {
		var text []byte
		switch v := v.(type) {
		case string:
			text = []byte(v)
		case json.RawMessage:
			text = v
		}
		if len(bytes.TrimSpace(text)) > 0 {
			var err error
			if doc, err = decodeJSON(text); err != nil {
				return rc.bad(e.skip, e.name, fmt.Errorf("expand_json: %w", err))
			}
			hasDoc = true
		}
	}
	for i, from := range e.from {
		if from >= 0 {
			out[i] = in[from]
			continue
		}
		k := -1 - from
		out[i] = nil
		if !hasDoc {
			continue
		}
		v, err := e.value(k, doc)
		if err != nil {
			return rc.bad(e.skip, e.cols[k].Name, fmt.Errorf("expand_json of %q at %s: %w", e.name, e.exprs[k], err))
		}
		out[i] = v
	}
	return nil
}

// value is expanded column k's value in doc: NULL where the path finds
// nothing or a JSON null; an array or object as JSON text (a json column
// takes any node); a scalar typed as the parser types a field.
func (e *expandStage) value(k int, doc any) (any, error) {
	nodes := e.paths[k].Select(doc)
	var node any
	switch {
	case len(nodes) == 0:
		return nil, nil
	case e.one[k]:
		node = nodes[0]
	default:
		node = []any(nodes)
	}
	var text string
	switch n := node.(type) {
	case nil:
		return nil, nil
	case string:
		if e.cols[k].Type == TypeJSON {
			b, err := encodeJSON(n)
			if err != nil {
				return nil, err
			}
			text = string(b)
		} else {
			text = n
		}
	case json.Number:
		text = n.String()
		if e.cols[k].Type == TypeLong {
			return jsonLong(n)
		}
	case bool:
		text = strconv.FormatBool(n)
	default:
		b, err := encodeJSON(n)
		if err != nil {
			return nil, err
		}
		text = string(b)
	}
	return e.conv.value(k, format.Value{S: text})
}

// jsonLong reads a JSON number as a long: an integer, or a float with no
// fraction (1e3, 2.0), as Embulk's expand_json does for exponents.
func jsonLong(n json.Number) (any, error) {
	if _, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		return number(n.String()), nil
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
		return nil, fmt.Errorf("%s is not a long", n)
	}
	return number(strconv.FormatInt(int64(f), 10)), nil
}

// decodeJSON reads one JSON value, numbers kept as written.
func decodeJSON(text []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%q is not JSON: %w", clip(text), err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%q is not JSON: text after the value", clip(text))
	}
	return v, nil
}

// encodeJSON writes v as compact JSON, without escaping <, > and &.
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// clip shortens a value quoted in an error.
func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}
