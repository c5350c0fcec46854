package cdcparquet

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"time"
	"unicode/utf8"

	pq "github.com/parquet-go/parquet-go"
	pqcompress "github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/s3bridge/s3bridge/format/internal/envelope"
	"github.com/s3bridge/s3bridge/pipeline"
)

// column is how a table column's values become Parquet values: the
// conversion of its leaf values, under depth levels of lists.
type column struct {
	depth int
	conv  func(v any) (pq.Value, error)
}

// appendValue appends v, at list level depth of its column (leaf index
// idx), with the levels Dremel encoding gives it: def counts the optional
// and repeated fields above v that are present, rep is the level of the
// list that repeats at v (0 at the first value of a row). Each list level
// adds a repeated group and an optional element: an empty list ends at the
// group, a NULL element at the element. The export's writer does the same
// (format/parquet).
func (c *column) appendValue(row pq.Row, idx int, v any, depth, def, rep int) (pq.Row, error) {
	if v == nil {
		return append(row, pq.NullValue().Level(rep, def, idx)), nil
	}
	if depth == c.depth {
		pv, err := c.conv(v)
		if err != nil {
			return row, err
		}
		return append(row, pv.Level(rep, def+1, idx)), nil
	}
	list, ok := v.([]any)
	if !ok {
		return row, fmt.Errorf("%T is not an array value", v)
	}
	if len(list) == 0 {
		return append(row, pq.NullValue().Level(rep, def+1, idx)), nil
	}
	var err error
	for i, e := range list {
		r := rep
		if i > 0 {
			r = depth + 1
		}
		if row, err = c.appendValue(row, idx, e, depth+1, def+2, r); err != nil {
			return row, fmt.Errorf("element %d: %w", i+1, err)
		}
	}
	return row, nil
}

// columnNode returns the Parquet node of a column of type t (without its
// optional wrapper) and its conversion. Bytes a conversion makes come from
// a, which holds them until the row is written.
func columnNode(t pipeline.Type, a *arena) (pq.Node, column, error) {
	depth := 0
	for t.Kind == pipeline.KindArray {
		if t.Elem == nil {
			return nil, column{}, fmt.Errorf("array type %s: no element type", t.Name)
		}
		t = *t.Elem
		depth++
	}
	node, conv, err := leafNode(t, a)
	if err != nil {
		return nil, column{}, err
	}
	for range depth {
		node = pq.List(pq.Optional(node))
	}
	return node, column{depth: depth, conv: conv}, nil
}

func badValue(v any, k pipeline.Kind) (pq.Value, error) {
	return pq.Value{}, fmt.Errorf("%T is not a %s value", v, k)
}

// leafNode maps a type that is no array.
func leafNode(t pipeline.Type, a *arena) (pq.Node, func(any) (pq.Value, error), error) {
	switch t.Kind {
	case pipeline.KindInt32:
		return pq.Int(32), func(v any) (pq.Value, error) {
			if x, ok := v.(int32); ok {
				return pq.Int32Value(x), nil
			}
			return badValue(v, t.Kind)
		}, nil
	case pipeline.KindInt64:
		return pq.Int(64), func(v any) (pq.Value, error) {
			if x, ok := v.(int64); ok {
				return pq.Int64Value(x), nil
			}
			return badValue(v, t.Kind)
		}, nil
	case pipeline.KindDecimal:
		return decimalNode(t, a)
	case pipeline.KindFloat32:
		return pq.Leaf(pq.FloatType), func(v any) (pq.Value, error) {
			if x, ok := v.(float32); ok {
				return pq.FloatValue(x), nil
			}
			return badValue(v, t.Kind)
		}, nil
	case pipeline.KindFloat64:
		return pq.Leaf(pq.DoubleType), func(v any) (pq.Value, error) {
			if x, ok := v.(float64); ok {
				return pq.DoubleValue(x), nil
			}
			return badValue(v, t.Kind)
		}, nil
	case pipeline.KindBool:
		return pq.Leaf(pq.BooleanType), func(v any) (pq.Value, error) {
			if x, ok := v.(bool); ok {
				return pq.BooleanValue(x), nil
			}
			return badValue(v, t.Kind)
		}, nil
	case pipeline.KindBytes:
		return pq.Leaf(pq.ByteArrayType), func(v any) (pq.Value, error) {
			if x, ok := v.([]byte); ok {
				return pq.ByteArrayValue(x), nil
			}
			return badValue(v, t.Kind)
		}, nil
	case pipeline.KindDate:
		return pq.Date(), func(v any) (pq.Value, error) {
			x, ok := v.(time.Time)
			if !ok {
				return badValue(v, t.Kind)
			}
			days, err := envelope.Days(x)
			return pq.Int32Value(days), err
		}, nil
	case pipeline.KindTime:
		// Not adjusted to UTC: a wall-clock time, which readers show as
		// TIME (DuckDB reads an adjusted one as TIME WITH TIME ZONE).
		return pq.TimeAdjusted(pq.Microsecond, false), func(v any) (pq.Value, error) {
			if x, ok := v.(time.Duration); ok {
				return pq.Int64Value(x.Microseconds()), nil
			}
			return badValue(v, t.Kind)
		}, nil
	case pipeline.KindTimestamp, pipeline.KindTimestampTZ:
		return pq.TimestampAdjusted(pq.Microsecond, t.Kind == pipeline.KindTimestampTZ), func(v any) (pq.Value, error) {
			if x, ok := v.(time.Time); ok {
				return pq.Int64Value(x.UnixMicro()), nil
			}
			return badValue(v, t.Kind)
		}, nil
	case pipeline.KindUUID:
		return pq.UUID(), func(v any) (pq.Value, error) {
			x, ok := v.(string)
			if !ok {
				return badValue(v, t.Kind)
			}
			b := a.alloc(16)
			err := envelope.UUID(b, x)
			return pq.FixedLenByteArrayValue(b), err
		}, nil
	case pipeline.KindJSON:
		return pq.JSON(), stringValue(t.Kind, a), nil
	case pipeline.KindNumeric, pipeline.KindString, pipeline.KindEnum, pipeline.KindText:
		return pq.String(), stringValue(t.Kind, a), nil
	}
	return nil, nil, fmt.Errorf("unknown kind %v", t.Kind)
}

func stringValue(k pipeline.Kind, a *arena) func(any) (pq.Value, error) {
	return func(v any) (pq.Value, error) {
		x, ok := v.(string)
		if !ok {
			return badValue(v, k)
		}
		if !utf8.ValidString(x) {
			return pq.Value{}, fmt.Errorf("string %.40q is not valid UTF-8", x)
		}
		return pq.ByteArrayValue(a.text(x)), nil
	}
}

// decimalNode stores DECIMAL(p,s) in the smallest physical type the
// Parquet spec allows for p: INT32 up to 9 digits, INT64 up to 18, fixed
// bytes up to 38, big-endian two's complement, as the export does. More
// digits than DECIMAL's 38 are the exact text.
func decimalNode(t pipeline.Type, a *arena) (pq.Node, func(any) (pq.Value, error), error) {
	p, s := t.Precision, t.Scale
	if p <= 0 || s < 0 || s > p {
		return nil, nil, fmt.Errorf("decimal(%d,%d) is no decimal type", p, s)
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(p)), nil)
	unscaled := func(v any) (*big.Int, error) {
		x, ok := v.(*big.Rat)
		if !ok || x == nil {
			return nil, fmt.Errorf("%T is not a decimal value", v)
		}
		u, err := envelope.Unscaled(x, s)
		if err == nil && u.CmpAbs(limit) >= 0 {
			err = fmt.Errorf("decimal %s has more than %d digits", x.FloatString(s), p)
		}
		return u, err
	}
	switch {
	case p <= 9:
		return pq.Decimal(s, p, pq.Int32Type), func(v any) (pq.Value, error) {
			u, err := unscaled(v)
			if err != nil {
				return pq.Value{}, err
			}
			return pq.Int32Value(int32(u.Int64())), nil
		}, nil
	case p <= 18:
		return pq.Decimal(s, p, pq.Int64Type), func(v any) (pq.Value, error) {
			u, err := unscaled(v)
			if err != nil {
				return pq.Value{}, err
			}
			return pq.Int64Value(u.Int64()), nil
		}, nil
	case p <= 38:
		size := decimalBytes(p)
		return pq.Decimal(s, p, pq.FixedLenByteArrayType(size)), func(v any) (pq.Value, error) {
			u, err := unscaled(v)
			if err != nil {
				return pq.Value{}, err
			}
			buf := a.alloc(size)
			twosComplement(buf, u)
			return pq.FixedLenByteArrayValue(buf), nil
		}, nil
	}
	return pq.String(), func(v any) (pq.Value, error) {
		if _, err := unscaled(v); err != nil {
			return pq.Value{}, err
		}
		b, err := envelope.DecimalText(nil, v.(*big.Rat), s)
		return pq.ByteArrayValue(b), err
	}, nil
}

// decimalBytes is the fewest bytes whose two's complement holds every
// p-digit number.
func decimalBytes(p int) int {
	return int(math.Ceil((float64(p)*math.Log2(10) + 1) / 8))
}

// twosComplement writes n, which fits (its digits were checked), into buf.
func twosComplement(buf []byte, n *big.Int) {
	if n.Sign() >= 0 {
		n.FillBytes(buf)
		return
	}
	// -n = ^(n-1): fill with the magnitude minus one, then flip every bit.
	m := new(big.Int).Neg(n)
	m.Sub(m, big.NewInt(1))
	m.FillBytes(buf)
	for i := range buf {
		buf[i] = ^buf[i]
	}
}

// arena holds the bytes of the values of the row being written, which
// stay put until WriteRows has copied them: growing starts a new array and
// leaves the old one to the values that point into it.
type arena struct{ b []byte }

func (a *arena) alloc(n int) []byte {
	if len(a.b)+n > cap(a.b) {
		a.b = make([]byte, 0, max(2*cap(a.b), n, 4096))
	}
	a.b = a.b[:len(a.b)+n]
	return a.b[len(a.b)-n:]
}

func (a *arena) text(s string) []byte {
	b := a.alloc(len(s))
	copy(b, s)
	return b
}

// reset makes room for the next row; an arena a huge row grew is let go.
func (a *arena) reset() {
	if cap(a.b) > 4<<20 {
		a.b = nil
	}
	a.b = a.b[:0]
}

// group is a Parquet group whose fields keep their order: pq.Group sorts
// them by name, and the envelope's order is the Avro record's.
type group []field

type field struct {
	pq.Node
	name string
}

func (f field) Name() string                      { return f.name }
func (f field) Value(reflect.Value) reflect.Value { return reflect.Value{} }

func (g group) ID() int                       { return 0 }
func (g group) String() string                { return fmt.Sprintf("group of %d fields", len(g)) }
func (g group) Type() pq.Type                 { return pq.Group{}.Type() }
func (g group) Optional() bool                { return false }
func (g group) Repeated() bool                { return false }
func (g group) Required() bool                { return true }
func (g group) Leaf() bool                    { return false }
func (g group) Encoding() encoding.Encoding   { return nil }
func (g group) Compression() pqcompress.Codec { return nil }
func (g group) GoType() reflect.Type          { return reflect.TypeFor[map[string]any]() }
func (g group) Fields() []pq.Field {
	fields := make([]pq.Field, len(g))
	for i := range g {
		fields[i] = g[i]
	}
	return fields
}
