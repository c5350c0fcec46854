package connector

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format"
)

// Filter types: Embulk's column, expand_json and add_time filters, a
// digest for PII, and Treasure Data's file name column.
const (
	FilterTypeAddFilename = "add_filename"
	FilterTypeColumn      = "column"
	FilterTypeExpandJSON  = "expand_json"
	FilterTypeDigest      = "digest"
	FilterTypeAddTime     = "add_time"
)

// Filter is one entry of the config's filters:, applied in order to the
// parser's rows before they are loaded. Which fields a filter takes
// depends on its Type; the others must be left unset.
type Filter struct {
	// Type is add_filename, column, expand_json, digest or add_time.
	Type string `yaml:"type" json:"type"`
	// ColumnName is add_filename's column (default "filename"): a string
	// holding the file name of the object the row came from (the key's
	// last segment), or its whole key with FullKey.
	ColumnName string `yaml:"column_name,omitempty" json:"column_name,omitempty"`
	FullKey    bool   `yaml:"full_key,omitempty" json:"full_key,omitempty"`
	// Columns are the column filter's columns to keep, in their new
	// order; one the rows lack is added when it has a type (with its
	// default), an error otherwise. A default also replaces NULLs.
	// For digest, they are the columns to digest.
	Columns []FilterColumn `yaml:"columns,omitempty" json:"columns,omitempty"`
	// DropColumns are the columns to remove (instead of Columns).
	DropColumns []FilterColumn `yaml:"drop_columns,omitempty" json:"drop_columns,omitempty"`
	// AddColumns are columns appended, each holding its default (NULL
	// when it has none).
	AddColumns []FilterColumn `yaml:"add_columns,omitempty" json:"add_columns,omitempty"`
	ExpandJSON `yaml:",inline"`
	AddTime    `yaml:",inline"`
}

// FilterColumn is a column of the column, expand_json or digest filter.
type FilterColumn struct {
	// Name is the column's; for expand_json, a JSONPath relative to
	// the filter's root, and the name of the column it makes.
	Name string `yaml:"name" json:"name"`
	// Type, Format and Timezone are as a parser column's; the column
	// filter needs them for a column the rows lack.
	Type     string `yaml:"type,omitempty" json:"type,omitempty"`
	Format   string `yaml:"format,omitempty" json:"format,omitempty"`
	Timezone string `yaml:"timezone,omitempty" json:"timezone,omitempty"`
	// Default is the column's value, written as the parser would read it.
	Default *string `yaml:"default,omitempty" json:"default,omitempty"`
	// Algorithm is digest's: sha256 (default), sha512, hmac-sha256 or
	// hmac-sha512; Key is the HMAC's key; NewName renames the column.
	Algorithm string `yaml:"algorithm,omitempty" json:"algorithm,omitempty"`
	Key       Secret `yaml:"key,omitempty" json:"key,omitempty"`
	NewName   string `yaml:"new_name,omitempty" json:"new_name,omitempty"`
}

// keys are the config keys a filter takes, by type; columnKeys those of
// its columns, by the list's key.
var (
	filterKeys = map[string][]string{
		FilterTypeAddFilename: {"type", "column_name", "full_key"},
		FilterTypeColumn:      {"type", "columns", "drop_columns", "add_columns"},
		FilterTypeExpandJSON: {"type", "json_column_name", "root", "expanded_columns", "keep_expanding_json_column",
			"stop_on_invalid_record", "default_timezone"},
		FilterTypeDigest:  {"type", "columns"},
		FilterTypeAddTime: {"type", "to_column", "from_value", "from_column"},
	}
	filterColumnKeys = map[string][]string{
		FilterTypeColumn:     {"name", "type", "format", "timezone", "default"},
		FilterTypeExpandJSON: {"name", "type", "format", "timezone"},
		FilterTypeDigest:     {"name", "algorithm", "key", "new_name"},
	}
	filterTypes = []string{FilterTypeAddFilename, FilterTypeColumn, FilterTypeExpandJSON, FilterTypeDigest, FilterTypeAddTime}
)

// setKeys are the config keys of the fields set in f.
func (f Filter) setKeys() []string {
	var k []string
	add := func(set bool, key string) {
		if set {
			k = append(k, key)
		}
	}
	add(f.ColumnName != "", "column_name")
	add(f.FullKey, "full_key")
	add(len(f.Columns) > 0, "columns")
	add(len(f.DropColumns) > 0, "drop_columns")
	add(len(f.AddColumns) > 0, "add_columns")
	add(f.JSONColumnName != "", "json_column_name")
	add(f.Root != "", "root")
	add(len(f.ExpandedColumns) > 0, "expanded_columns")
	add(f.KeepExpandingJSONColumn, "keep_expanding_json_column")
	add(f.StopOnInvalidRecord != nil, "stop_on_invalid_record")
	add(f.DefaultTimezone != "", "default_timezone")
	add(f.ToColumn != nil, "to_column")
	add(f.FromValue != nil, "from_value")
	add(f.FromColumn != nil, "from_column")
	return k
}

func (fc FilterColumn) setKeys() []string {
	var k []string
	for key, set := range map[string]bool{"type": fc.Type != "", "format": fc.Format != "", "timezone": fc.Timezone != "",
		"default": fc.Default != nil, "algorithm": fc.Algorithm != "", "key": fc.Key != "", "new_name": fc.NewName != ""} {
		if set {
			k = append(k, key)
		}
	}
	slices.Sort(k)
	return k
}

// checkFields refuses fields another type of filter takes: a config built
// in Go gets the checks Parse gives a YAML one.
func (f Filter) checkFields() error {
	allowed, ok := filterKeys[f.Type]
	if !ok {
		return fmt.Errorf("type %q: want one of %s", f.Type, strings.Join(filterTypes, ", "))
	}
	for _, k := range f.setKeys() {
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("%s does not take %s (it takes: %s)", f.Type, k, strings.Join(allowed[1:], ", "))
		}
	}
	lists := []struct {
		key  string
		cols []FilterColumn
	}{{"columns", f.Columns}, {"drop_columns", f.DropColumns}, {"add_columns", f.AddColumns}, {"expanded_columns", f.ExpandedColumns}}
	for _, l := range lists {
		list, allowed := l.key, filterColumnKeys[f.Type]
		for _, fc := range l.cols {
			for _, k := range fc.setKeys() {
				if !slices.Contains(allowed, k) {
					return fmt.Errorf("%s: %q: %s takes no %s in its columns (they take: %s)", list, fc.Name, f.Type, k, strings.Join(allowed, ", "))
				}
			}
		}
	}
	return nil
}

// FilterRun is what a run gives its filters: how digest keys are
// resolved, and when the run started (add_time's upload_time, one value
// for every row of every file of the run).
type FilterRun struct {
	Env   Env
	Start time.Time
}

// source is where an output column's value comes from.
type source struct {
	Column
	in      int  // the input row's column, -1 for none
	file    bool // the object's file name
	fullKey bool // with file: its whole key
	def     any  // the typed default: the value when in is -1, else for NULL
	// plan makes the input row out of the parser's row; nil means the
	// input row is the parser's. Every source of a map shares it (the
	// map is also the runner's list of the table's columns).
	plan *plan
}

// columnMap is the filtered row's columns: the table's columns, each
// with its source.
type columnMap []source

// stage is a filter that computes values (expand_json, digest, add_time),
// or the column filters' map between two of them.
type stage interface {
	// row fills out, the stage's row, from in, the previous one. An error
	// is a *badRecord, or what stops the run.
	row(out, in []any, rc *rowContext) error
	// bind returns the stage ready for one run.
	bind(run FilterRun) (stage, error)
}

// plan is the stages of a config's filters, in order, and their widths.
type plan struct {
	stages []stage
	widths []int
	bound  bool
}

// rowContext is what a row's filters know of where the row came from,
// and their scratch rows: one per stream.
type rowContext struct {
	key  string // the object's key
	line int    // the row's line in the object
	rows [][]any
}

// badRecord is a row a filter refused: where and why, and whether the run
// goes on without it (the filter's stop_on_invalid_record).
type badRecord struct {
	err  *format.Error
	skip bool
}

func (b *badRecord) Error() string { return b.err.Error() }
func (b *badRecord) Unwrap() error { return b.err }

// bad is a bad record at the row's line in column field.
func (rc *rowContext) bad(skip bool, field string, err error) error {
	return &badRecord{err: &format.Error{Line: rc.line, Field: field, Err: err}, skip: skip}
}

// Columns are the columns the filters leave: the table's columns.
func (c Config) Columns() ([]Column, error) {
	l, err := c.filtered()
	if err != nil {
		return nil, err
	}
	return l.columns(), nil
}

func (l columnMap) columns() []Column {
	out := make([]Column, len(l))
	for i, s := range l {
		out[i] = s.Column
	}
	return out
}

// filtered applies the filters to the parser's columns. Its map is not
// bound to a run: digest keys are not resolved yet (see filteredFor).
func (c Config) filtered() (columnMap, error) {
	p := c.In.Parser
	m := identity(p.Columns)
	pl := &plan{}
	width := len(p.Columns)
	for i, f := range c.Filters {
		var err error
		if m, width, err = f.add(pl, m, width, p); err != nil {
			return nil, fmt.Errorf("config: filters[%d] (%s): %w", i, f.Type, err)
		}
	}
	if len(pl.stages) > 0 {
		for i := range m {
			m[i].plan = pl
		}
	}
	return m, nil
}

// filteredFor is filtered bound to a run: digest keys resolved in its
// Env, upload_time its start.
func (c Config) filteredFor(run FilterRun) (columnMap, error) {
	l, err := c.filtered()
	if err != nil {
		return nil, err
	}
	return l.bind(run)
}

// add adds filter f after m, the map over the current row of width
// columns, and returns the new map and row width.
func (f Filter) add(pl *plan, m columnMap, width int, p Parser) (columnMap, int, error) {
	if err := f.checkFields(); err != nil {
		return nil, 0, err
	}
	var (
		st   stage
		cols []Column
		err  error
	)
	in := m.columns()
	switch f.Type {
	case FilterTypeAddFilename, FilterTypeColumn:
		m, err = f.apply(m, p.DefaultTimezone)
		return m, width, err
	case FilterTypeExpandJSON:
		st, cols, err = f.expandStage(in, p)
	case FilterTypeDigest:
		st, cols, err = f.digestStage(in)
	case FilterTypeAddTime:
		st, cols, err = f.addTimeStage(in, p)
	}
	if err != nil {
		return nil, 0, err
	}
	if !m.isIdentity(width) {
		pl.stages, pl.widths = append(pl.stages, mapStage(m)), append(pl.widths, len(m))
	}
	pl.stages, pl.widths = append(pl.stages, st), append(pl.widths, len(cols))
	return identity(cols), len(cols), nil
}

// identity is the map that keeps a row as it is.
func identity(cols []Column) columnMap {
	m := make(columnMap, len(cols))
	for i, col := range cols {
		m[i] = source{Column: col, in: i}
	}
	return m
}

func (l columnMap) isIdentity(width int) bool {
	if len(l) != width {
		return false
	}
	for i, s := range l {
		if s.in != i || s.file || s.def != nil {
			return false
		}
	}
	return true
}

func (l columnMap) find(name string) int {
	return slices.IndexFunc(l, func(s source) bool { return s.Name == name })
}

// bind returns the map ready for one run; a map without computed values
// needs no run.
func (l columnMap) bind(run FilterRun) (columnMap, error) {
	if l.bound() {
		return l, nil
	}
	old := l[0].plan
	pl := &plan{stages: make([]stage, len(old.stages)), widths: old.widths, bound: true}
	for i, st := range old.stages {
		var err error
		if pl.stages[i], err = st.bind(run); err != nil {
			return nil, err
		}
	}
	out := slices.Clone(l)
	for i := range out {
		out[i].plan = pl
	}
	return out, nil
}

func (l columnMap) bound() bool { return len(l) == 0 || l[0].plan == nil || l[0].plan.bound }

// row fills out, the filtered row, from in, a parsed row. An error is a
// *badRecord a filter refused, or what stops the run.
func (l columnMap) row(out, in []any, rc *rowContext) error {
	if len(l) > 0 && l[0].plan != nil {
		pl := l[0].plan
		if !pl.bound {
			return errors.New("connector: the filters were not bound to the run")
		}
		if len(rc.rows) != len(pl.widths) {
			rc.rows = make([][]any, len(pl.widths))
			for i, w := range pl.widths {
				rc.rows[i] = make([]any, w)
			}
		}
		for i, st := range pl.stages {
			if err := st.row(rc.rows[i], in, rc); err != nil {
				return err
			}
			in = rc.rows[i]
		}
	}
	l.project(out, in, rc.key)
	return nil
}

// project fills out from in by the map alone.
func (l columnMap) project(out, in []any, key string) {
	for i, s := range l {
		switch {
		case s.file && s.fullKey:
			out[i] = key
		case s.file:
			out[i] = path.Base(key)
		case s.in >= 0 && in[s.in] != nil:
			out[i] = in[s.in]
		default:
			out[i] = s.def
		}
	}
}

// mapStage is a map of the column filters between two computing stages.
type mapStage columnMap

func (m mapStage) row(out, in []any, rc *rowContext) error {
	columnMap(m).project(out, in, rc.key)
	return nil
}

func (m mapStage) bind(FilterRun) (stage, error) { return m, nil }

func (f Filter) apply(l columnMap, zone string) (columnMap, error) {
	if f.Type == FilterTypeAddFilename {
		name := cmpOr(f.ColumnName, "filename")
		if l.find(name) >= 0 {
			return nil, fmt.Errorf("column %q exists already", name)
		}
		return append(slices.Clip(l), source{Column: Column{Name: name, Type: TypeString}, in: -1, file: true, fullKey: f.FullKey}), nil
	}
	if len(f.Columns) > 0 && len(f.DropColumns) > 0 {
		return nil, errors.New("columns and drop_columns: give one of them")
	}
	out := l
	if len(f.Columns) > 0 {
		out = make(columnMap, 0, len(f.Columns))
		for _, fc := range f.Columns {
			if out.find(fc.Name) >= 0 {
				return nil, fmt.Errorf("columns: %q appears twice", fc.Name)
			}
			i := l.find(fc.Name)
			if i < 0 && fc.Type == "" {
				return nil, fmt.Errorf("columns: %q is not a column (give it a type and a default to add it)", fc.Name)
			}
			s, err := fc.source(l, i, zone)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	}
	for _, fc := range f.DropColumns {
		i := out.find(fc.Name)
		if i < 0 {
			return nil, fmt.Errorf("drop_columns: %q is not a column", fc.Name)
		}
		out = slices.Delete(slices.Clone(out), i, i+1)
	}
	for _, fc := range f.AddColumns {
		if out.find(fc.Name) >= 0 {
			return nil, fmt.Errorf("add_columns: %q exists already", fc.Name)
		}
		if fc.Type == "" {
			return nil, fmt.Errorf("add_columns: %q needs a type", fc.Name)
		}
		s, err := fc.source(l, -1, zone)
		if err != nil {
			return nil, err
		}
		out = append(slices.Clip(out), s)
	}
	if len(out) == 0 {
		return nil, errors.New("no column is left")
	}
	return out, nil
}

// source is the output column fc: column i of l (kept, its NULLs made the
// default), or a new one holding its default.
func (fc FilterColumn) source(l columnMap, i int, zone string) (source, error) {
	if fc.Name == "" {
		return source{}, errors.New("a column has no name")
	}
	s := source{Column: Column{Name: fc.Name, Type: fc.Type, Format: fc.Format, Timezone: fc.Timezone}, in: -1}
	if i >= 0 {
		s = l[i]
		if fc.Type != "" && fc.Type != s.Type {
			return s, fmt.Errorf("%q is a %s, not a %s (the filter does not convert)", fc.Name, s.Type, fc.Type)
		}
	} else if !slices.Contains(columnTypes, s.Type) {
		return s, fmt.Errorf("%q: type %q: want one of %v", fc.Name, s.Type, columnTypes)
	}
	if fc.Default == nil {
		return s, nil
	}
	conv, err := newConverter(Parser{Columns: []Column{s.Column}, DefaultTimezone: zone})
	if err != nil {
		return s, err
	}
	if s.def, err = conv.value(0, format.Value{S: *fc.Default}); err != nil {
		return s, fmt.Errorf("%q: default: %w", fc.Name, err)
	}
	return s, nil
}

// objectKey is the key of a load's object URI (s3://bucket/key).
func objectKey(uri string) string {
	if loc, err := s3bridge.ParseURI(uri); err == nil {
		return loc.Key
	}
	return uri
}

// columnIndexIn finds a column by name in cols.
func columnIndexIn(cols []Column, name string) int {
	return slices.IndexFunc(cols, func(c Column) bool { return c.Name == name })
}
