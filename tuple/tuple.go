// Package tuple is the typed row model shared by the databases that produce
// rows (exports, change streams) and the encoders that write them (CSV,
// JSON Lines, Parquet, Avro): a column's Type, a field's Value, a result's
// Rows. It imports nothing of ours.
package tuple

import "time"

// Rows is a query result being read.
type Rows interface {
	// Columns describes the result's columns, in order.
	Columns() []Column
	// Next fills row, which has one Value per column, with the next row, or
	// returns io.EOF after the last one. Bytes and lists in row stay valid
	// until the next call.
	Next(row []Value) error
}

// Type is a column's type as exports see it: what Parquet stores and how
// JSON Lines spells a value. Anything without a better mapping is TypeText,
// in the database's text form.
type Type uint8

// Column types.
const (
	TypeText Type = iota
	TypeInt8
	TypeInt16
	TypeInt32
	TypeInt64
	TypeUint8
	TypeUint16
	TypeUint32
	TypeUint64
	TypeFloat32
	TypeFloat64
	TypeDecimal // Column.Precision and Scale, when known
	TypeBool
	TypeBytes
	TypeDate
	TypeTimestamp   // wall-clock time, without a zone
	TypeTimestampTZ // an instant
	TypeJSON
	// TypeTime is a time of day without a zone: Value.Int microseconds
	// since midnight (24:00:00 included), or text hh:mm:ss[.ffffff].
	TypeTime
	// TypeUUID is a UUID: Value.Bytes, its 16 bytes (Kind Bytes) or its
	// text form (Kind Text).
	TypeUUID
	// TypeList is an array: Column.Elem types its elements, which may be
	// lists themselves (a two-dimensional array is a list of lists), and
	// Value.List holds them.
	TypeList
	// TypeUnknown is a column whose type only its values tell (a SQLite
	// expression): the first row decides.
	TypeUnknown
)

var typeNames = [...]string{"text", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64", "decimal", "bool", "bytes",
	"date", "timestamp", "timestamptz", "json", "time", "uuid", "list", "unknown"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "type?"
}

// IntBits tells an integer type's width and signedness.
func (t Type) IntBits() (bits int, signed, ok bool) {
	switch t {
	case TypeInt8, TypeUint8:
		bits = 8
	case TypeInt16, TypeUint16:
		bits = 16
	case TypeInt32, TypeUint32:
		bits = 32
	case TypeInt64, TypeUint64:
		bits = 64
	default:
		return 0, false, false
	}
	return bits, t <= TypeInt64, true
}

// Column describes one result column.
type Column struct {
	Name string
	Type Type
	// Precision and Scale of a TypeDecimal column; Precision 0 means
	// unconstrained (a bare PostgreSQL numeric).
	Precision, Scale int
	// Elem describes the elements of a TypeList column; nil otherwise.
	Elem *Column
}

// ListOf is a TypeList column named name whose elements are elem, nested
// depth times: ListOf("m", int32, 2) is a list of lists of int32.
func ListOf(name string, elem Column, depth int) Column {
	c := elem
	for range depth {
		e := c
		c = Column{Type: TypeList, Elem: &e}
	}
	c.Name = name
	return c
}

// Leaf is the element type under every level of lists, and how many
// levels there are: (c, 0) for a column that is not a list.
func (c Column) Leaf() (Column, int) {
	depth := 0
	for c.Type == TypeList && c.Elem != nil {
		c, depth = *c.Elem, depth+1
	}
	return c, depth
}

// Kind says which field of a Value holds it.
type Kind uint8

// Value kinds.
const (
	Null  Kind = iota
	Int        // Value.Int
	Float      // Value.Float
	Bool       // Value.Int: 0 or 1
	Text       // Value.Bytes: text in the database's form, numbers and times included
	Bytes      // Value.Bytes: binary data
	Time       // Value.Time: UTC; the wall clock for TypeTimestamp, midnight for TypeDate
	List       // Value.List: the elements of an array, NULLs included
)

// Value is one field of a row. Sources fill whichever form is cheapest for
// them (MariaDB's text protocol gives Text for every column, PostgreSQL's
// binary one typed values); encoders convert by the column's Type.
type Value struct {
	Kind  Kind
	Int   int64
	Float float64
	Bytes []byte
	Time  time.Time
	List  []Value
}

// IntValue is an Int value.
func IntValue(v int64) Value { return Value{Kind: Int, Int: v} }

// FloatValue is a Float value.
func FloatValue(v float64) Value { return Value{Kind: Float, Float: v} }

// TextValue is a Text value; it keeps v, which the caller must not change
// before the row is written.
func TextValue(v []byte) Value { return Value{Kind: Text, Bytes: v} }

// BytesValue is a Bytes value, keeping v like TextValue.
func BytesValue(v []byte) Value { return Value{Kind: Bytes, Bytes: v} }

// TimeValue is a Time value, in UTC.
func TimeValue(v time.Time) Value { return Value{Kind: Time, Time: v.UTC()} }

// StringValue is a Text value holding a copy of v.
func StringValue(v string) Value { return Value{Kind: Text, Bytes: []byte(v)} }

// ListValue is a List value, keeping v like TextValue.
func ListValue(v []Value) Value { return Value{Kind: List, List: v} }

// NullValue is SQL NULL.
func NullValue() Value { return Value{} }

// BoolValue is a Bool value.
func BoolValue(v bool) Value {
	if v {
		return Value{Kind: Bool, Int: 1}
	}
	return Value{Kind: Bool}
}
