package avro

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"time"
	"unicode/utf8"

	"github.com/s3bridge/s3bridge/pipeline"
)

// The Avro binary encoding of one envelope, written by hand rather than with
// hamba's reflection encoder: the domain's values map one to one onto Avro
// primitives, and a hand encoder has no ambiguity between logical types that
// share a Go type (time.Time is a date, a local or a UTC timestamp).
// hamba's ocf package still frames, compresses and syncs the blocks.

func appendLong(b []byte, v int64) []byte {
	return binary.AppendUvarint(b, uint64(v<<1)^uint64(v>>63))
}

func appendBytes(b, v []byte) []byte {
	b = appendLong(b, int64(len(v)))
	return append(b, v...)
}

func appendString(b []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return b, fmt.Errorf("string %.40q is not valid UTF-8", s)
	}
	b = appendLong(b, int64(len(s)))
	return append(b, s...), nil
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendEnvelope appends the record SchemaJSON describes.
func appendEnvelope(b []byte, c *pipeline.Change, tsMillis int64) ([]byte, error) {
	if !c.Op.Valid() {
		return b, fmt.Errorf("invalid op %q", c.Op)
	}
	// The op's one ASCII letter, as a string of length 1.
	b = append(appendLong(b, 1), byte(c.Op))
	var err error
	for _, img := range []struct {
		name string
		row  pipeline.Row
	}{{"before", c.Before}, {"after", c.After}} {
		if img.row == nil {
			b = appendLong(b, 0)
			continue
		}
		b = appendLong(b, 1)
		if b, err = appendRow(b, c.Schema, img.row); err != nil {
			return b, fmt.Errorf("%s: %w", img.name, err)
		}
	}
	s := c.Source
	b = appendLong(b, int64(s.LSN))
	if s.TxID == 0 {
		b = appendLong(b, 0)
	} else {
		b = appendLong(appendLong(b, 1), s.TxID)
	}
	if s.CommitTime.IsZero() {
		b = appendLong(b, 0)
	} else {
		b = appendLong(appendLong(b, 1), s.CommitTime.UnixMicro())
	}
	for _, str := range []string{s.Database, s.Schema, s.Table} {
		if b, err = appendString(b, str); err != nil {
			return b, fmt.Errorf("source: %w", err)
		}
	}
	b = appendBool(b, s.Snapshot)
	if b, err = appendBinlog(b, s.Binlog); err != nil {
		return b, fmt.Errorf("source: %w", err)
	}
	b = appendLong(b, tsMillis)
	if n := len(c.UnchangedToast); n > 0 {
		b = appendLong(b, int64(n))
		for _, name := range c.UnchangedToast {
			if b, err = appendString(b, name); err != nil {
				return b, fmt.Errorf("unchanged_toast_columns: %w", err)
			}
		}
	}
	return appendLong(b, 0), nil
}

// appendBinlog appends source's gtid, file, pos and server_id: each null
// when p is nil, gtid and file when empty, server_id when 0.
func appendBinlog(b []byte, p *pipeline.BinlogPosition) ([]byte, error) {
	if p == nil {
		return append(b, 0, 0, 0, 0), nil
	}
	var err error
	for _, str := range []string{p.GTID, p.File} {
		if str == "" {
			b = appendLong(b, 0)
		} else if b, err = appendString(appendLong(b, 1), str); err != nil {
			return b, err
		}
	}
	if p.File == "" {
		b = appendLong(b, 0)
	} else {
		b = appendLong(appendLong(b, 1), int64(p.Pos))
	}
	if p.ServerID == 0 {
		return appendLong(b, 0), nil
	}
	return appendLong(appendLong(b, 1), int64(p.ServerID)), nil
}

func appendRow(b []byte, ts *pipeline.TableSchema, row pipeline.Row) ([]byte, error) {
	if len(row) != len(ts.Columns) {
		return b, fmt.Errorf("row has %d values, schema v%d has %d columns", len(row), ts.Version, len(ts.Columns))
	}
	var err error
	for i, v := range row {
		if v == nil {
			b = appendLong(b, 0)
			continue
		}
		b = appendLong(b, 1)
		if b, err = appendValue(b, ts.Columns[i].Type, v); err != nil {
			return b, fmt.Errorf("column %s: %w", ts.Columns[i].Name, err)
		}
	}
	return b, nil
}

// appendValue appends a non-nil value of type t.
func appendValue(b []byte, t pipeline.Type, v any) ([]byte, error) {
	bad := func() ([]byte, error) { return b, fmt.Errorf("%T is not a %s value", v, t.Kind) }
	switch t.Kind {
	case pipeline.KindInt32:
		x, ok := v.(int32)
		if !ok {
			return bad()
		}
		return appendLong(b, int64(x)), nil
	case pipeline.KindInt64:
		x, ok := v.(int64)
		if !ok {
			return bad()
		}
		return appendLong(b, x), nil
	case pipeline.KindDecimal:
		x, ok := v.(*big.Rat)
		if !ok || x == nil {
			return bad()
		}
		if b, ok := appendSmallDecimal(b, x, t.Scale); ok {
			return b, nil
		}
		u, err := unscaled(x, t.Scale)
		if err != nil {
			return b, err
		}
		return appendBytes(b, u), nil
	case pipeline.KindFloat32:
		x, ok := v.(float32)
		if !ok {
			return bad()
		}
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(x)), nil
	case pipeline.KindFloat64:
		x, ok := v.(float64)
		if !ok {
			return bad()
		}
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(x)), nil
	case pipeline.KindBool:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		return appendBool(b, x), nil
	case pipeline.KindBytes:
		x, ok := v.([]byte)
		if !ok {
			return bad()
		}
		return appendBytes(b, x), nil
	case pipeline.KindDate:
		x, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		days := floorDiv(x.Unix(), 86400)
		if days > math.MaxInt32 || days < math.MinInt32 {
			return b, fmt.Errorf("date %v out of Avro date range", x)
		}
		return appendLong(b, days), nil
	case pipeline.KindTime:
		x, ok := v.(time.Duration)
		if !ok {
			return bad()
		}
		return appendLong(b, x.Microseconds()), nil
	case pipeline.KindTimestamp, pipeline.KindTimestampTZ:
		x, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		return appendLong(b, x.UnixMicro()), nil
	case pipeline.KindNumeric, pipeline.KindString, pipeline.KindJSON, pipeline.KindEnum,
		pipeline.KindText, pipeline.KindUUID:
		x, ok := v.(string)
		if !ok {
			return bad()
		}
		return appendString(b, x)
	case pipeline.KindArray:
		x, ok := v.([]any)
		if !ok || t.Elem == nil {
			return bad()
		}
		if len(x) == 0 {
			return appendLong(b, 0), nil
		}
		b = appendLong(b, int64(len(x)))
		var err error
		for i, e := range x {
			if e == nil {
				b = appendLong(b, 0)
				continue
			}
			b = appendLong(b, 1)
			if b, err = appendValue(b, *t.Elem, e); err != nil {
				return b, fmt.Errorf("element %d: %w", i, err)
			}
		}
		return appendLong(b, 0), nil
	}
	return b, fmt.Errorf("unknown kind %v", t.Kind)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// pow10 are the powers of ten an int64 holds.
var pow10 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// appendSmallDecimal appends x at scale as unscaled does, without big.Int
// arithmetic (most of an append's time), when x's numerator and its
// unscaled value fit an int64 and its denominator divides 10^scale. ok
// is false otherwise, and for a value unscaled refuses: unscaled decides.
func appendSmallDecimal(b []byte, x *big.Rat, scale int) ([]byte, bool) {
	num, den := x.Num(), x.Denom()
	if scale < 0 || scale >= len(pow10) || !num.IsInt64() || !den.IsInt64() {
		return b, false
	}
	d, p := den.Int64(), pow10[scale]
	if p%d != 0 {
		return b, false
	}
	f, n := p/d, num.Int64()
	if n > math.MaxInt64/f || n < math.MinInt64/f {
		return b, false
	}
	u := n * f
	// The fewest big-endian two's complement bytes that hold u.
	size := 1
	for size < 8 && (u < -1<<(8*size-1) || u >= 1<<(8*size-1)) {
		size++
	}
	b = appendLong(b, int64(size))
	for i := size - 1; i >= 0; i-- {
		b = append(b, byte(u>>(8*i)))
	}
	return b, true
}

var ten = big.NewInt(10)

// unscaled returns x·10^scale as the big-endian two's complement bytes Avro's
// decimal wants. x must be exact at that scale: a value with more fractional
// digits would be silently rounded, so it is an error instead.
func unscaled(x *big.Rat, scale int) ([]byte, error) {
	n := new(big.Int).Exp(ten, big.NewInt(int64(scale)), nil)
	n.Mul(n, x.Num())
	q, r := new(big.Int).QuoRem(n, x.Denom(), new(big.Int))
	if r.Sign() != 0 {
		return nil, fmt.Errorf("decimal %s has more than %d fractional digits", x.FloatString(scale+4), scale)
	}
	if q.Sign() >= 0 {
		bs := q.Bytes()
		if len(bs) == 0 || bs[0]&0x80 != 0 {
			bs = append([]byte{0}, bs...)
		}
		return bs, nil
	}
	// -q-1 is non-negative; its bytes inverted are q's two's complement.
	bs := new(big.Int).Sub(new(big.Int).Neg(q), big.NewInt(1)).Bytes()
	for i := range bs {
		bs[i] = ^bs[i]
	}
	if len(bs) == 0 || bs[0]&0x80 == 0 {
		bs = append([]byte{0xff}, bs...)
	}
	return bs, nil
}
