package connector

import (
	"errors"
	"fmt"
	"slices"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format"
	"go.yaml.in/yaml/v3"
)

// Filter types: Embulk's add_filename and column filters.
const (
	FilterTypeAddFilename = "add_filename"
	FilterTypeColumn      = "column"
)

// Filter is one entry of the config's filters:, applied in order to the
// parser's rows before they are loaded.
type Filter struct {
	// Type is add_filename or column.
	Type string `yaml:"type" json:"type"`
	// ColumnName is add_filename's column (default "filename"): a string
	// holding the key of the object the row came from.
	ColumnName string `yaml:"column_name,omitempty" json:"column_name,omitempty"`
	// Columns are the column filter's columns to keep, in their new
	// order; one the rows lack is added when it has a type (with its
	// default), an error otherwise. A default also replaces NULLs.
	Columns []FilterColumn `yaml:"columns,omitempty" json:"columns,omitempty"`
	// DropColumns are the columns to remove (instead of Columns).
	DropColumns []FilterColumn `yaml:"drop_columns,omitempty" json:"drop_columns,omitempty"`
	// AddColumns are columns appended, each holding its default (NULL
	// when it has none).
	AddColumns []FilterColumn `yaml:"add_columns,omitempty" json:"add_columns,omitempty"`
}

// FilterColumn is a column of the column filter.
type FilterColumn struct {
	Name string `yaml:"name" json:"name"`
	// Type, Format and Timezone are as a parser column's; needed for a
	// column the rows lack.
	Type     string `yaml:"type,omitempty" json:"type,omitempty"`
	Format   string `yaml:"format,omitempty" json:"format,omitempty"`
	Timezone string `yaml:"timezone,omitempty" json:"timezone,omitempty"`
	// Default is the column's value, written as the parser would read it.
	Default *string `yaml:"default,omitempty" json:"default,omitempty"`
}

var (
	filterKeys       = []string{"type", "column_name", "columns", "drop_columns", "add_columns"}
	filterColumnKeys = []string{"name", "type", "format", "timezone", "default"}
)

// source is where an output column's value comes from.
type source struct {
	Column
	in   int  // the parser's column, -1 for none
	file bool // the object's key
	def  any  // the typed default: the value when in is -1, else for NULL
}

// columnMap is the filtered row's columns.
type columnMap []source

// Columns are the columns the filters leave: the table's columns.
func (c Config) Columns() ([]Column, error) {
	l, err := c.filtered()
	if err != nil {
		return nil, err
	}
	out := make([]Column, len(l))
	for i, s := range l {
		out[i] = s.Column
	}
	return out, nil
}

// filtered applies the filters to the parser's columns.
func (c Config) filtered() (columnMap, error) {
	p := c.In.Parser
	l := make(columnMap, len(p.Columns))
	for i, col := range p.Columns {
		l[i] = source{Column: col, in: i}
	}
	var err error
	for i, f := range c.Filters {
		if l, err = f.apply(l, p.DefaultTimezone); err != nil {
			return nil, fmt.Errorf("config: filters[%d] (%s): %w", i, f.Type, err)
		}
	}
	return l, nil
}

func (l columnMap) find(name string) int {
	return slices.IndexFunc(l, func(s source) bool { return s.Name == name })
}

func (f Filter) apply(l columnMap, zone string) (columnMap, error) {
	switch f.Type {
	case FilterTypeAddFilename:
		if len(f.Columns)+len(f.DropColumns)+len(f.AddColumns) > 0 {
			return nil, errors.New("add_filename takes column_name only")
		}
		name := cmpOr(f.ColumnName, "filename")
		if l.find(name) >= 0 {
			return nil, fmt.Errorf("column %q exists already", name)
		}
		return append(l, source{Column: Column{Name: name, Type: TypeString}, in: -1, file: true}), nil
	case FilterTypeColumn:
	default:
		return nil, fmt.Errorf("type %q: want %s or %s", f.Type, FilterTypeAddFilename, FilterTypeColumn)
	}
	if f.ColumnName != "" {
		return nil, errors.New("column_name belongs to add_filename")
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
		out = append(out, s)
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

// row fills out, the filtered row, from a parsed row of the object key.
func (l columnMap) row(out, in []any, key string) {
	for i, s := range l {
		switch {
		case s.file:
			out[i] = key
		case s.in >= 0 && in[s.in] != nil:
			out[i] = in[s.in]
		default:
			out[i] = s.def
		}
	}
}

// objectKey is the key of a load's object URI (s3://bucket/key).
func objectKey(uri string) string {
	if loc, err := s3bridge.ParseURI(uri); err == nil {
		return loc.Key
	}
	return uri
}

// checkFilterKeys refuses unknown keys in filters:, by name with their line.
func checkFilterKeys(fs *yaml.Node) error {
	if fs == nil || (fs.Kind == yaml.ScalarNode && fs.Tag == "!!null") {
		return nil
	}
	if fs.Kind != yaml.SequenceNode {
		return fmt.Errorf("config line %d: filters must be a list", fs.Line)
	}
	for i, f := range fs.Content {
		where := fmt.Sprintf("filters[%d]", i)
		if err := checkKeys(f, where, filterKeys); err != nil {
			return err
		}
		for _, key := range []string{"columns", "drop_columns", "add_columns"} {
			cols := child(f, key)
			if cols == nil {
				continue
			}
			if cols.Kind != yaml.SequenceNode {
				return fmt.Errorf("config line %d: %s.%s must be a list", cols.Line, where, key)
			}
			for _, col := range cols.Content {
				if err := checkKeys(col, where+"."+key, filterColumnKeys); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
