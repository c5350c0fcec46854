package export

import (
	"context"
	"io"
	"time"

	"github.com/s3bridge/s3bridge"
)

// Source is a database an export reads from; each instance package
// implements it on its Instance.
type Source interface {
	// Query runs q.SQL in a read-only transaction, with the privileges of
	// q.Caller when it is set, and calls fn with the result while the
	// transaction is open. Rows stream: the database sends them as fn reads
	// them, never the whole result at once. A statement that is not a single
	// query fails before anything runs. A permission error satisfies
	// s3bridge.ErrAccessDenied.
	Query(ctx context.Context, q Query, fn func(Rows) error) error
}

// Copier is a Source with a native bulk path for delimited text, used for
// CSV and TEXT when the options map onto it (PostgreSQL's COPY).
type Copier interface {
	// CopyTo runs COPY (q.SQL) TO STDOUT (options) in the same kind of
	// transaction as Query and writes its output to w. Each Write carries
	// exactly one row, the header row first when options ask for one
	// (PostgreSQL sends one CopyData message per row), so a caller can cut
	// parts between writes without splitting a row. options is a COPY
	// option list built by CopyOptions.String, never user text.
	CopyTo(ctx context.Context, w io.Writer, q Query, options string) error
}

// Waiters is implemented by sources whose SQL interface waits for the
// export it enqueued (query_export_to_s3, select_into_outfile_s3): the
// waiting call records a heartbeat, so an export whose caller gave up
// (cancel, timeout, lost connection) can stop instead of finishing for no
// one.
type Waiters interface {
	// WaiterAge is how long ago the call waiting for task id last showed it
	// was still there, by the database's clock. It fails with an error
	// satisfying s3bridge.ErrNotFound when no call waits for the task.
	WaiterAge(ctx context.Context, id int64) (time.Duration, error)
}

// Query is what a Source runs.
type Query struct {
	SQL string
	// Caller is the database user whose privileges apply: a PostgreSQL role,
	// a MariaDB account 'user@host'. Empty means the connection's own.
	Caller string
	// CallerRole is the MariaDB role the caller had active, whose
	// privileges count when the account's own fall short.
	CallerRole string
	// Session holds the caller's session settings to apply for the
	// transaction (PostgreSQL: search_path, TimeZone, DateStyle,
	// IntervalStyle), so the query means what it meant in the caller's
	// session.
	Session map[string]string
	// Text asks for values in the database's own text form wherever that is
	// cheaper: the delimited formats print them as they are.
	Text bool
}

// Rows is a query result being read.
type Rows interface {
	// Columns describes the result's columns, in order.
	Columns() []Column
	// Next fills row, which has one Value per column, with the next row, or
	// returns io.EOF after the last one. Bytes in row stay valid until the
	// next call.
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
	// TypeUnknown is a column whose type only its values tell (a SQLite
	// expression): the first row decides.
	TypeUnknown
)

var typeNames = [...]string{"text", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64", "decimal", "bool", "bytes",
	"date", "timestamp", "timestamptz", "json", "unknown"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "type?"
}

// intBits tells an integer type's width and signedness.
func (t Type) intBits() (bits int, signed, ok bool) {
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

// NullValue is SQL NULL.
func NullValue() Value { return Value{} }

// BoolValue is a Bool value.
func BoolValue(v bool) Value {
	if v {
		return Value{Kind: Bool, Int: 1}
	}
	return Value{Kind: Bool}
}

// Denied marks a database's permission error (a role without SELECT, a
// caller the agent may not act as) so callers can branch on
// s3bridge.ErrAccessDenied; the message stays the database's.
func Denied(err error) error { return deniedError{err} }

type deniedError struct{ err error }

func (e deniedError) Error() string   { return e.err.Error() }
func (e deniedError) Unwrap() []error { return []error{s3bridge.ErrAccessDenied, e.err} }
