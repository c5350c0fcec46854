// Package coltype decides the type a PostgreSQL column has in the files
// s3bridge writes: an export's Parquet and JSON Lines, and a pipeline's
// Avro. Both read the decision from Of, so a column has the same logical
// type whether it was exported or streamed; each format then spells it in
// its own types. The package also parses the text form of array values,
// which exports (for element types they don't read in binary) and
// pipelines (pgoutput sends text) both receive.
//
// It asks no catalog: callers look the type up (an array's element type,
// a domain's base type, the column's declared dimensions) and pass what
// they found in a Source.
package coltype

// Kind is a logical type.
type Kind uint8

// The logical types. Text is the zero value: a type nobody mapped keeps
// PostgreSQL's text form, never dropped.
const (
	Text        Kind = iota // any other type (interval, inet, ranges, timetz, money, …): its text form
	String                  // text, varchar, char, name
	Enum                    // an enum type: its label
	Numeric                 // numeric without a precision a decimal can carry: its text, NaN and ±Infinity included
	Int16                   // smallint
	Int32                   // integer
	Int64                   // bigint, oid
	Float32                 // real
	Float64                 // double precision
	Bool                    // boolean
	Bytes                   // bytea
	Date                    // date
	Time                    // time without time zone: a time of day, microseconds
	Timestamp               // timestamp without time zone: a wall clock, microseconds
	TimestampTZ             // timestamp with time zone: an instant, microseconds
	UUID                    // uuid
	JSON                    // json, jsonb: the JSON text unchanged
	Decimal                 // numeric(p,s) with p ≥ 1 and 0 ≤ s ≤ p: exact
)

var kindNames = [...]string{"text", "string", "enum", "numeric", "int16", "int32", "int64", "float32", "float64", "bool",
	"bytes", "date", "time", "timestamp", "timestamptz", "uuid", "json", "decimal"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind?"
}

// Type is a column's logical type: a scalar of Kind or, when Dims > 0, an
// array of Kind elements nested Dims levels deep (int[][] is a list of
// lists of int32). Elements of every level may be NULL.
type Type struct {
	Kind Kind
	// Precision and Scale of a Decimal. The Scale of a Timestamp or
	// TimestampTZ is its declared fractional digits, -1 when undeclared.
	Precision, Scale int
	// Dims is 0 for a scalar, else the array's number of dimensions.
	Dims int
}

// Source is what the catalog says of a column's type.
type Source struct {
	// OID is the column's type or, for an array, its element type. A
	// domain is given as its base type (PostgreSQL describes query
	// results that way too).
	OID uint32
	// Typmod is the type modifier, -1 for none. An array's is its
	// element's: numeric(10,2)[] has numeric(10,2)'s.
	Typmod int32
	// Enum is true when OID is an enum type (pg_type.typtype 'e').
	Enum bool
	// Array is true for an array type; Dims is then the dimensions the
	// column was declared with (pg_attribute.attndims: int[][] has 2),
	// 0 when it has no declaration (an expression, a view's column).
	Array bool
	Dims  int
}

// The OIDs of the built-in types with a mapping of their own.
const (
	BoolOID        = 16
	ByteaOID       = 17
	NameOID        = 19
	Int8OID        = 20
	Int2OID        = 21
	Int4OID        = 23
	TextOID        = 25
	OIDOID         = 26
	JSONOID        = 114
	Float4OID      = 700
	Float8OID      = 701
	BPCharOID      = 1042
	VarcharOID     = 1043
	DateOID        = 1082
	TimeOID        = 1083
	TimestampOID   = 1114
	TimestampTZOID = 1184
	NumericOID     = 1700
	UUIDOID        = 2950
	JSONBOID       = 3802
)

var scalars = map[uint32]Kind{
	BoolOID: Bool, ByteaOID: Bytes, NameOID: String, Int8OID: Int64, Int2OID: Int16, Int4OID: Int32, TextOID: String,
	OIDOID: Int64, JSONOID: JSON, Float4OID: Float32, Float8OID: Float64, BPCharOID: String, VarcharOID: String,
	DateOID: Date, TimeOID: Time, TimestampOID: Timestamp, TimestampTZOID: TimestampTZ, UUIDOID: UUID, JSONBOID: JSON,
}

// Of is the logical type of a column whose type is s.
//
// An array has the dimensions it was declared with, at least one: an
// array type doesn't say how many its values have, and a file's list
// depth is fixed. numeric(p,s) is a Decimal; numeric without a typmod, or
// with a scale a decimal can't have (negative, or above the precision:
// PostgreSQL 15 allows both), is Numeric, kept as text. Enums and every
// type without a mapping of its own are text.
func Of(s Source) Type {
	t := Type{Kind: scalars[s.OID]}
	switch {
	case s.OID == NumericOID:
		t.Kind = Numeric
		if p, sc, ok := NumericTypmod(s.Typmod); ok && p >= 1 && sc >= 0 && sc <= p {
			t.Kind, t.Precision, t.Scale = Decimal, p, sc
		}
	case s.OID == TimestampOID || s.OID == TimestampTZOID:
		t.Scale = -1
		if s.Typmod >= 0 {
			t.Scale = int(s.Typmod)
		}
	case s.Enum:
		t.Kind = Enum
	}
	if s.Array {
		t.Dims = max(s.Dims, 1)
	}
	return t
}

// NumericTypmod decodes numeric's type modifier, ((p << 16) | s) + 4 with
// s an 11-bit signed number; ok is false for -1 (no modifier).
func NumericTypmod(typmod int32) (precision, scale int, ok bool) {
	if typmod < 4 {
		return 0, 0, false
	}
	m := typmod - 4
	return int(m>>16) & 0xffff, int((m&0x7ff)^1024) - 1024, true
}
