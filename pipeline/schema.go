package pipeline

import (
	"fmt"
	"strings"
)

// Kind is a column's type, described neutrally: what a file format needs to
// choose its own type. See the package comment for each Kind's Go value.
type Kind int

// The kinds. KindText is the zero value on purpose: a type nobody mapped is
// carried as its text form, never dropped.
const (
	KindText        Kind = iota // any other type, as text
	KindInt32                   // smallint, integer
	KindInt64                   // bigint
	KindDecimal                 // numeric(p,s): exact, with Precision and Scale
	KindNumeric                 // unconstrained numeric: text incl. NaN/±Infinity
	KindFloat32                 // real
	KindFloat64                 // double precision
	KindBool                    // boolean
	KindString                  // text, varchar, char
	KindBytes                   // bytea
	KindDate                    // date
	KindTime                    // time without time zone
	KindTimestamp               // timestamp without time zone
	KindTimestampTZ             // timestamp with time zone
	KindUUID                    // uuid
	KindJSON                    // json, jsonb
	KindEnum                    // an enum type: its label
	KindArray                   // an array of Elem
)

var kindNames = [...]string{
	KindText: "text", KindInt32: "int32", KindInt64: "int64", KindDecimal: "decimal",
	KindNumeric: "numeric", KindFloat32: "float32", KindFloat64: "float64",
	KindBool: "bool", KindString: "string", KindBytes: "bytes", KindDate: "date",
	KindTime: "time", KindTimestamp: "timestamp", KindTimestampTZ: "timestamptz",
	KindUUID: "uuid", KindJSON: "json", KindEnum: "enum", KindArray: "array",
}

// String returns the kind's lower-case name.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Type is a column's type.
type Type struct {
	Kind Kind
	// Precision and Scale are set for KindDecimal only.
	Precision, Scale int
	// Elem is the element type of a KindArray, nil otherwise.
	Elem *Type
	// Name is the source's own name of the type ("int4", "numeric(10,2)",
	// "public.mood"). It is informative (files carry it) and part of the
	// identity of a type: a column retyped between two source types of the
	// same Kind is still a new schema version.
	Name string
}

// Equal reports whether t and o are the same type.
func (t Type) Equal(o Type) bool {
	if t.Kind != o.Kind || t.Precision != o.Precision || t.Scale != o.Scale || t.Name != o.Name {
		return false
	}
	if (t.Elem == nil) != (o.Elem == nil) {
		return false
	}
	return t.Elem == nil || t.Elem.Equal(*o.Elem)
}

// String describes t, e.g. "decimal(10,2)" or "array<int32>".
func (t Type) String() string {
	switch t.Kind {
	case KindDecimal:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
	case KindArray:
		if t.Elem == nil {
			return "array<?>"
		}
		return "array<" + t.Elem.String() + ">"
	}
	return t.Kind.String()
}

// Column is one column of a table.
type Column struct {
	Name string
	Type Type
	// Nullable is false only when the source guarantees NOT NULL. Sources
	// that cannot tell (pgoutput does not send it) set true.
	Nullable bool
	// Key is true for the columns of the key the source identifies rows by
	// (PostgreSQL: the replica identity).
	Key bool
}

// TableSchema is one version of a table's shape.
type TableSchema struct {
	Database, Schema, Table string
	// Version numbers the shapes of one table from 1; see Evolve.
	Version int
	Columns []Column
}

// QualifiedName returns "database.schema.table" as the source spells them.
func (s *TableSchema) QualifiedName() string {
	return s.Database + "." + s.Schema + "." + s.Table
}

// Index returns the position of the column called name, or -1.
func (s *TableSchema) Index(name string) int {
	for i, c := range s.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// SameShape reports whether s and o describe the same table with the same
// columns: same names in the same order, same types, same nullability. Key
// membership is not part of the shape: a file's records don't change when
// the key does.
func (s *TableSchema) SameShape(o *TableSchema) bool {
	if s.Database != o.Database || s.Schema != o.Schema || s.Table != o.Table || len(s.Columns) != len(o.Columns) {
		return false
	}
	for i, c := range s.Columns {
		oc := o.Columns[i]
		if c.Name != oc.Name || c.Nullable != oc.Nullable || !c.Type.Equal(oc.Type) {
			return false
		}
	}
	return true
}

// Evolve decides the version of cur, a table shape just read from the
// source, given prev, the latest known version of the same table (nil when
// none). The rule:
//   - no previous version: cur is version 1;
//   - same shape as prev (SameShape): prev's version — nothing changed that a
//     file can see, so files go on (a Relation message re-sent by PostgreSQL
//     after a reconnect or an unrelated ALTER is no new version);
//   - otherwise (a column added, dropped, renamed, retyped, reordered, or its
//     nullability changed): prev.Version+1.
//
// Evolve returns a copy of cur with Version set and Key flags taken from cur;
// it never changes its arguments. It reports whether the version is new.
func Evolve(prev *TableSchema, cur TableSchema) (TableSchema, bool) {
	cur.Columns = append([]Column(nil), cur.Columns...)
	switch {
	case prev == nil:
		cur.Version = 1
		return cur, true
	case prev.SameShape(&cur):
		cur.Version = prev.Version
		return cur, false
	default:
		cur.Version = prev.Version + 1
		return cur, true
	}
}

// Diff describes how o differs from s in words, for logs: "add c; drop b;
// retype a int32 -> int64". Empty when they have the same shape.
func (s *TableSchema) Diff(o *TableSchema) string {
	var parts []string
	for _, c := range s.Columns {
		j := o.Index(c.Name)
		switch {
		case j < 0:
			parts = append(parts, "drop "+c.Name)
		case !c.Type.Equal(o.Columns[j].Type):
			parts = append(parts, fmt.Sprintf("retype %s %s -> %s", c.Name, c.Type.Name, o.Columns[j].Type.Name))
		case c.Nullable != o.Columns[j].Nullable:
			parts = append(parts, fmt.Sprintf("nullability %s %t -> %t", c.Name, c.Nullable, o.Columns[j].Nullable))
		}
	}
	for _, c := range o.Columns {
		if s.Index(c.Name) < 0 {
			parts = append(parts, "add "+c.Name)
		}
	}
	if len(parts) == 0 && !s.SameShape(o) {
		parts = append(parts, "reorder columns")
	}
	return strings.Join(parts, "; ")
}
