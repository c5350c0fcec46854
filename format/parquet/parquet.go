// Package parquet writes typed rows as Parquet files with parquet-go: each
// result column an optional column of the matching Parquet type, row
// groups flushed as they fill so memory stays bounded.
package parquet

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"

	"github.com/klauspost/compress/s2"
	pq "github.com/parquet-go/parquet-go"
	pqcompress "github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"
	pformat "github.com/parquet-go/parquet-go/format"

	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/format/compress"
	"github.com/s3bridge/s3bridge/format/internal/convert"
	"github.com/s3bridge/s3bridge/tuple"
)

// rowGroupBytes is the row group size the Writer aims at, measured
// before compression. A row group is buffered whole until it is flushed, so
// this bounds the writer's memory.
const rowGroupBytes = 16 << 20

// sizeEvery is how many rows pass between two looks at the open row
// group's size, which parquet-go sums over every column; in between, each
// row's values are counted roughly.
const sizeEvery = 256

// Writer writes each file as a complete Parquet file: one optional column
// per result column, in order, typed from the result's types (see
// parquetNode; a list column is a LIST of optional elements, nested for
// each level), row groups flushed as they fill.
type Writer struct {
	cols      []tuple.Column // resolved at the first row
	codec     pqcompress.Codec
	schema    *pq.Schema
	leaves    []leafColumn
	arena     arena // bytes the row's values point to, until it is written
	w         *pq.Writer
	out       countWriter
	row       pq.Row
	rows      []pq.Row
	sinceSize int   // rows since size was last measured
	size      int64 // the open row group's size then, plus the rows since
}

var _ format.RowWriter = (*Writer)(nil)

// NewWriter returns a Writer of rows with the columns cols whose pages are
// compressed with codec: compress.Gzip or compress.Zstd, and snappy, the
// usual Parquet default, for anything else. A column of TypeUnknown takes
// the type of its first value.
func NewWriter(cols []tuple.Column, codec compress.Codec) *Writer {
	e := &Writer{cols: cols, codec: fastSnappy{}}
	switch codec {
	case compress.Zstd:
		e.codec = &pq.Zstd
	case compress.Gzip:
		e.codec = &pq.Gzip
	}
	return e
}

// Begin starts a file on w. Nothing is written before the first row group.
func (e *Writer) Begin(w io.Writer) error {
	e.out = countWriter{w: w}
	if e.w != nil {
		e.w.Reset(&e.out)
	}
	return nil
}

// setup builds the schema, once, from the columns and the first row.
func (e *Writer) setup(first []tuple.Value) error {
	e.cols = convert.ResolveUnknown(e.cols, first)
	names := convert.UniqueNames(e.cols)
	root := make(columnsNode, len(e.cols))
	e.leaves = make([]leafColumn, len(e.cols))
	for i, c := range e.cols {
		// Every column has exactly one leaf, lists included, so the
		// column's index is its leaf's.
		leaf, depth := c.Leaf()
		node, conv := parquetNode(leaf, &e.arena)
		for range depth {
			node = pq.List(pq.Optional(node))
		}
		root[i] = columnField{Node: pq.Optional(node), name: names[i]}
		e.leaves[i] = leafColumn{index: i, depth: depth, conv: conv}
	}
	// The schema and writer names are those export's files have always had.
	e.schema = pq.NewSchema("export", root)
	e.w = pq.NewWriter(&e.out, e.schema, pq.Compression(e.codec),
		pq.CreatedBy("s3bridge", "export", ""))
	e.row = make(pq.Row, 0, len(e.cols))
	e.rows = []pq.Row{e.row}
	return nil
}

// Write adds a row to the open row group, which is flushed to the file
// once it holds about rowGroupBytes.
func (e *Writer) Write(row []tuple.Value) error {
	if e.w == nil {
		if err := e.setup(row); err != nil {
			return err
		}
	}
	e.row, e.arena.b = e.row[:0], e.arena.b[:0]
	for i, v := range row {
		var err error
		if e.row, err = e.appendValue(e.row, &e.leaves[i], v, 0, 0, 0); err != nil {
			return fmt.Errorf("column %s (%s): %w", e.cols[i].Name, e.cols[i].Type, err)
		}
	}
	e.rows[0] = e.row
	if _, err := e.w.WriteRows(e.rows); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	if e.sinceSize++; e.sinceSize < sizeEvery {
		return nil
	}
	e.sinceSize, e.size = 0, max(0, e.w.Size()-e.out.n)
	if e.size >= rowGroupBytes {
		if err := e.w.Flush(); err != nil {
			return fmt.Errorf("parquet: flush row group: %w", err)
		}
		e.size = 0
	}
	return nil
}

// leafColumn is how a result column's values become Parquet values: the
// conversion of its leaf values, under depth levels of lists.
type leafColumn struct {
	index int
	depth int
	conv  func(tuple.Value) (pq.Value, error)
}

// appendValue appends v, at list level depth of its column, to row with
// the levels Dremel encoding gives it: def counts the optional and
// repeated fields above v that are present, rep is the level of the list
// that repeats at v (0 at a row's first value). Each list level adds a
// repeated group and an optional element: an empty list ends at the
// group, a NULL element at the element.
func (e *Writer) appendValue(row pq.Row, c *leafColumn, v tuple.Value, depth, def, rep int) (pq.Row, error) {
	e.size += int64(len(v.Bytes)) + 8
	if v.Kind == tuple.Null || (v.Kind == tuple.Time && v.Time.IsZero()) {
		// MySQL's zero dates (0000-00-00) have no Parquet form: NULL.
		return append(row, pq.NullValue().Level(rep, def, c.index)), nil
	}
	if depth == c.depth {
		pv, err := c.conv(v)
		if err != nil {
			return row, err
		}
		return append(row, pv.Level(rep, def+1, c.index)), nil
	}
	if v.Kind != tuple.List {
		return row, fmt.Errorf("%s is not a list", convert.Describe(v))
	}
	if len(v.List) == 0 {
		return append(row, pq.NullValue().Level(rep, def+1, c.index)), nil
	}
	for i, elem := range v.List {
		r := rep
		if i > 0 {
			r = depth + 1
		}
		var err error
		if row, err = e.appendValue(row, c, elem, depth+1, def+2, r); err != nil {
			return row, fmt.Errorf("element %d: %w", i+1, err)
		}
	}
	return row, nil
}

// arena holds the bytes of values converted for the row being written
// (fixed-length decimals, UUIDs), which stay put until WriteRows has
// copied them: growing starts a new array and leaves the old one to the
// values that point into it.
type arena struct{ b []byte }

func (a *arena) alloc(n int) []byte {
	if len(a.b)+n > cap(a.b) {
		a.b = make([]byte, 0, max(2*cap(a.b), n, 256))
	}
	a.b = a.b[:len(a.b)+n]
	return a.b[len(a.b)-n:]
}

// Buffered is the open row group's size before compression: measured at
// most sizeEvery rows ago, estimated since.
func (e *Writer) Buffered() int64 { return e.size }

// End writes the open row group and the footer. A file without rows is
// still a valid Parquet file, with the schema and no row groups.
func (e *Writer) End() error {
	if e.w == nil {
		if err := e.setup(nil); err != nil {
			return err
		}
	}
	if err := e.w.Close(); err != nil {
		return fmt.Errorf("parquet: close: %w", err)
	}
	e.sinceSize, e.size = 0, 0
	return nil
}

// fastSnappy is Parquet's SNAPPY codec with the fast encoder: parquet-go's
// uses klauspost's EncodeSnappyBetter, which spent a fifth of an export's
// CPU for files a few percent smaller. The output is standard snappy.
type fastSnappy struct{}

func (fastSnappy) String() string                             { return "SNAPPY" }
func (fastSnappy) CompressionCodec() pformat.CompressionCodec { return pformat.Snappy }
func (fastSnappy) Encode(dst, src []byte) ([]byte, error)     { return s2.EncodeSnappy(dst[:0], src), nil }
func (fastSnappy) Decode(dst, src []byte) ([]byte, error)     { return s2.Decode(dst[:0], src) }

// parquetNode maps a column type (not a list) to a Parquet type and the
// conversion of a value to it: integers, floats and booleans as
// themselves, decimals with a precision of 1 to 38 as DECIMAL (INT32,
// INT64 or fixed bytes), other decimals (unconstrained numeric) as
// strings, dates as DATE, timestamps as TIMESTAMP(MICROS) adjusted to UTC
// only for instants, times of day as TIME(MICROS) not adjusted to UTC,
// UUIDs as UUID, JSON as JSON, text as strings, binary as plain byte
// arrays. Bytes a conversion makes come from a.
func parquetNode(c tuple.Column, a *arena) (pq.Node, func(tuple.Value) (pq.Value, error)) {
	switch c.Type {
	case tuple.TypeInt8, tuple.TypeInt16, tuple.TypeInt32, tuple.TypeInt64, tuple.TypeUint8, tuple.TypeUint16, tuple.TypeUint32, tuple.TypeUint64:
		return intNode(c.Type)
	case tuple.TypeFloat32:
		return pq.Leaf(pq.FloatType), func(v tuple.Value) (pq.Value, error) {
			f, err := convert.Float(v)
			return pq.FloatValue(float32(f)), err
		}
	case tuple.TypeFloat64:
		return pq.Leaf(pq.DoubleType), func(v tuple.Value) (pq.Value, error) {
			f, err := convert.Float(v)
			return pq.DoubleValue(f), err
		}
	case tuple.TypeBool:
		return pq.Leaf(pq.BooleanType), func(v tuple.Value) (pq.Value, error) {
			b, err := convert.Bool(v)
			return pq.BooleanValue(b), err
		}
	case tuple.TypeDecimal:
		if c.Precision >= 1 && c.Precision <= 38 && c.Scale >= 0 && c.Scale <= c.Precision {
			return decimalNode(c, a)
		}
	case tuple.TypeBytes:
		return pq.Leaf(pq.ByteArrayType), func(v tuple.Value) (pq.Value, error) {
			if v.Kind != tuple.Bytes && v.Kind != tuple.Text {
				return pq.ByteArrayValue(convert.AppendText(nil, v, c)), nil
			}
			return pq.ByteArrayValue(v.Bytes), nil
		}
	case tuple.TypeDate:
		return pq.Date(), func(v tuple.Value) (pq.Value, error) {
			t, err := convert.Time(v)
			days := t.Unix() / 86400
			if t.Unix() < 0 && t.Unix()%86400 != 0 {
				days-- // floor, for dates before 1970
			}
			return pq.Int32Value(int32(days)), err
		}
	case tuple.TypeTimestamp, tuple.TypeTimestampTZ:
		return pq.TimestampAdjusted(pq.Microsecond, c.Type == tuple.TypeTimestampTZ), func(v tuple.Value) (pq.Value, error) {
			t, err := convert.Time(v)
			return pq.Int64Value(t.UnixMicro()), err
		}
	case tuple.TypeTime:
		// Not adjusted to UTC: a wall-clock time, which readers show as
		// TIME (DuckDB reads an adjusted one as TIME WITH TIME ZONE).
		return pq.TimeAdjusted(pq.Microsecond, false), func(v tuple.Value) (pq.Value, error) {
			us, err := convert.TimeOfDay(v)
			return pq.Int64Value(us), err
		}
	case tuple.TypeUUID:
		return pq.UUID(), func(v tuple.Value) (pq.Value, error) {
			b := a.alloc(16)
			err := convert.UUID(b, v)
			return pq.FixedLenByteArrayValue(b), err
		}
	case tuple.TypeJSON:
		return pq.JSON(), func(v tuple.Value) (pq.Value, error) {
			if (v.Kind != tuple.Text && v.Kind != tuple.Bytes) || !json.Valid(v.Bytes) {
				return pq.Value{}, fmt.Errorf("%s is not valid JSON", convert.Describe(v))
			}
			return pq.ByteArrayValue(v.Bytes), nil
		}
	}
	return pq.String(), func(v tuple.Value) (pq.Value, error) {
		if v.Kind == tuple.Text || v.Kind == tuple.Bytes {
			return pq.ByteArrayValue(v.Bytes), nil
		}
		return pq.ByteArrayValue(convert.AppendText(nil, v, c)), nil
	}
}

// intNode stores integers with their width and signedness annotated: INT32
// for up to 32 bits, INT64 beyond, as the Parquet spec has it.
func intNode(t tuple.Type) (pq.Node, func(tuple.Value) (pq.Value, error)) {
	bits, signed, _ := t.IntBits()
	node := pq.Int(bits)
	if !signed {
		node = pq.Uint(bits)
	}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if bits < 64 && signed {
		lo, hi = -1<<(bits-1), 1<<(bits-1)-1
	} else if bits < 64 {
		lo, hi = 0, 1<<bits-1
	}
	return node, func(v tuple.Value) (pq.Value, error) {
		if !signed && bits == 64 {
			n, err := convert.Uint(v)
			return pq.Int64Value(int64(n)), err
		}
		n, err := convert.Int(v)
		if err == nil && (n < lo || n > hi) {
			err = fmt.Errorf("%d is out of range for %s", n, t)
		}
		if bits == 64 {
			return pq.Int64Value(n), err
		}
		return pq.Int32Value(int32(uint32(n))), err
	}
}

// decimalNode stores DECIMAL(p,s) in the smallest physical type the
// Parquet spec allows for p: INT32 up to 9 digits, INT64 up to 18, fixed
// bytes beyond, big-endian two's complement.
func decimalNode(c tuple.Column, a *arena) (pq.Node, func(tuple.Value) (pq.Value, error)) {
	p, s := c.Precision, c.Scale
	switch {
	case p <= 9:
		return pq.Decimal(s, p, pq.Int32Type), func(v tuple.Value) (pq.Value, error) {
			n, err := convert.Unscaled64(v, s)
			return pq.Int32Value(int32(n)), err
		}
	case p <= 18:
		return pq.Decimal(s, p, pq.Int64Type), func(v tuple.Value) (pq.Value, error) {
			n, err := convert.Unscaled64(v, s)
			return pq.Int64Value(n), err
		}
	}
	size := decimalBytes(p)
	return pq.Decimal(s, p, pq.FixedLenByteArrayType(size)), func(v tuple.Value) (pq.Value, error) {
		n, err := convert.Unscaled(v, s)
		if err != nil {
			return pq.Value{}, err
		}
		buf := a.alloc(size)
		if err := twosComplement(buf, n); err != nil {
			return pq.Value{}, err
		}
		return pq.FixedLenByteArrayValue(buf), nil
	}
}

// decimalBytes is the fewest bytes whose two's complement holds every
// p-digit number.
func decimalBytes(p int) int {
	return int(math.Ceil((float64(p)*math.Log2(10) + 1) / 8))
}

func twosComplement(buf []byte, n *big.Int) error {
	if n.Sign() >= 0 {
		if n.BitLen() > len(buf)*8-1 {
			return fmt.Errorf("%s does not fit the column's precision", n)
		}
		n.FillBytes(buf)
		return nil
	}
	// -n = ^(n-1): fill with the magnitude minus one, then flip every bit.
	m := new(big.Int).Neg(n)
	m.Sub(m, big.NewInt(1))
	if m.BitLen() > len(buf)*8-1 {
		return fmt.Errorf("%s does not fit the column's precision", n)
	}
	m.FillBytes(buf)
	for i := range buf {
		buf[i] = ^buf[i]
	}
	return nil
}

// columnsNode is a Parquet group whose fields keep the query's column
// order; pq.Group sorts them by name.
type columnsNode []columnField

type columnField struct {
	pq.Node
	name string
}

func (f columnField) Name() string                           { return f.name }
func (f columnField) Value(base reflect.Value) reflect.Value { return reflect.Value{} }

func (g columnsNode) ID() int                       { return 0 }
func (g columnsNode) String() string                { return fmt.Sprintf("export group of %d columns", len(g)) }
func (g columnsNode) Type() pq.Type                 { return pq.Group{}.Type() }
func (g columnsNode) Optional() bool                { return false }
func (g columnsNode) Repeated() bool                { return false }
func (g columnsNode) Required() bool                { return true }
func (g columnsNode) Leaf() bool                    { return false }
func (g columnsNode) Encoding() encoding.Encoding   { return nil }
func (g columnsNode) Compression() pqcompress.Codec { return nil }
func (g columnsNode) GoType() reflect.Type          { return reflect.TypeFor[map[string]any]() }
func (g columnsNode) Fields() []pq.Field {
	fields := make([]pq.Field, len(g))
	for i := range g {
		fields[i] = g[i]
	}
	return fields
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
