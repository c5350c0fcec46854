package pgsource

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/s3bridge/s3bridge/instance/postgres/coltype"
	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/tuple"
)

// valueDecoder turns pgoutput's text-format column values into the domain's
// Go values (see package pipeline). The replication session runs with
// DateStyle ISO, TimeZone UTC, bytea_output hex and extra_float_digits 3
// (see replicationConfig), so the text forms are the ones parsed here.
type valueDecoder struct {
	m *pgtype.Map
	// delims are the array element delimiters other than a comma, by
	// element type name (typeResolver.delims).
	delims map[string]byte
}

func newValueDecoder(delims map[string]byte) *valueDecoder {
	return &valueDecoder{m: pgtype.NewMap(), delims: delims}
}

func (d *valueDecoder) decode(t pipeline.Type, text []byte) (any, error) {
	if t.Kind == pipeline.KindArray {
		return d.decodeArray(t, text)
	}
	return d.decodeScalar(t, text)
}

// decodeArray parses an array literal (coltype's parser, the one exports
// use) and decodes each element: a list per dimension, NULL elements nil.
//
// A column's depth is the dimensions it was declared with, which
// PostgreSQL doesn't enforce. A value with more has its outer dimensions
// merged, in row-major order ({{1,2},{3,4}} in an int[] column is
// [1,2,3,4]); one with fewer is wrapped in lists of one ({1,2} in an
// int[][] column is [[1,2]]). An export fails on such a value instead, but
// a stream can't skip a change.
func (d *valueDecoder) decodeArray(t pipeline.Type, text []byte) (any, error) {
	leaf, depth := t, 0
	for leaf.Kind == pipeline.KindArray && leaf.Elem != nil {
		leaf, depth = *leaf.Elem, depth+1
	}
	p := coltype.ArrayParser{Depth: coltype.TextDims(text), Delim: ','}
	if c, ok := d.delims[leaf.Name]; ok {
		p.Delim = c
	}
	v, err := p.Parse(text)
	if err != nil {
		return nil, err
	}
	out, err := d.list(leaf, v)
	if err != nil {
		return nil, err
	}
	for n := p.Depth; n > depth; n-- {
		out = merge(out)
	}
	for n := max(p.Depth, 1); n < depth && len(out) > 0; n++ {
		out = []any{out}
	}
	return out, nil
}

// list decodes a parsed list's elements, lists of lists included.
func (d *valueDecoder) list(leaf pipeline.Type, v tuple.Value) ([]any, error) {
	out := make([]any, len(v.List))
	for i, e := range v.List {
		var err error
		switch e.Kind {
		case tuple.Null:
			continue
		case tuple.List:
			out[i], err = d.list(leaf, e)
		default:
			out[i], err = d.decodeScalar(leaf, e.Bytes)
		}
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i+1, err)
		}
	}
	return out, nil
}

// merge concatenates the lists that are a list's elements.
func merge(lists []any) []any {
	var out []any
	for _, l := range lists {
		out = append(out, l.([]any)...)
	}
	if out == nil {
		out = []any{}
	}
	return out
}

// decodeScalar decodes one value. The forms a stream carries most (integers,
// decimals, floats, ISO timestamps, hex bytea) are parsed by hand from the
// bytes: pgtype's scan plans and big.Rat's SetString were most of a row's
// decoding time. Every other form (BC dates, infinity, 5-digit years, time
// zones other than UTC) goes through pgtype as before.
func (d *valueDecoder) decodeScalar(t pipeline.Type, text []byte) (any, error) {
	switch t.Kind {
	case pipeline.KindInt32:
		if v, ok := parseInt(text, 32); ok {
			return int32(v), nil
		}
		v, err := strconv.ParseInt(string(text), 10, 32)
		return int32(v), err
	case pipeline.KindInt64:
		if v, ok := parseInt(text, 64); ok {
			return v, nil
		}
		return strconv.ParseInt(string(text), 10, 64)
	case pipeline.KindDecimal:
		if r, ok := parseDecimal(text); ok {
			return r, nil
		}
		r, ok := new(big.Rat).SetString(string(text))
		if !ok {
			// NaN is the one value numeric(p,s) holds that a decimal can't.
			return nil, fmt.Errorf("numeric value %q has no Avro decimal form (alter the column to unconstrained numeric to carry it)", text)
		}
		return r, nil
	case pipeline.KindFloat32:
		// The conversion in the call doesn't escape: no allocation.
		v, err := strconv.ParseFloat(string(text), 32)
		return float32(v), err
	case pipeline.KindFloat64:
		return strconv.ParseFloat(string(text), 64)
	case pipeline.KindBool:
		switch string(text) {
		case "t":
			return true, nil
		case "f":
			return false, nil
		}
		return nil, fmt.Errorf("boolean %q", text)
	case pipeline.KindBytes:
		if b, ok := parseHexBytea(text); ok {
			return b, nil
		}
		var b []byte
		if err := d.m.Scan(pgtype.ByteaOID, pgtype.TextFormatCode, text, &b); err != nil {
			return nil, err
		}
		if b == nil {
			b = []byte{}
		}
		return b, nil
	case pipeline.KindDate:
		if len(text) == 10 {
			if t, ok := parseISO(text); ok {
				return t, nil
			}
		}
		var v pgtype.Date
		if err := d.m.Scan(pgtype.DateOID, pgtype.TextFormatCode, text, &v); err != nil {
			return nil, err
		}
		return infinite(v.InfinityModifier, v.Time), nil
	case pipeline.KindTime:
		var v pgtype.Time
		if err := d.m.Scan(pgtype.TimeOID, pgtype.TextFormatCode, text, &v); err != nil {
			return nil, err
		}
		return time.Duration(v.Microseconds) * time.Microsecond, nil
	case pipeline.KindTimestamp:
		if len(text) > 10 {
			if t, ok := parseISO(text); ok {
				return t, nil
			}
		}
		var v pgtype.Timestamp
		if err := d.m.Scan(pgtype.TimestampOID, pgtype.TextFormatCode, text, &v); err != nil {
			return nil, err
		}
		return infinite(v.InfinityModifier, v.Time), nil
	case pipeline.KindTimestampTZ:
		// TimeZone is UTC: the offset is +00.
		if n := len(text); n > 13 && string(text[n-3:]) == "+00" {
			if t, ok := parseISO(text[:n-3]); ok {
				return t, nil
			}
		}
		var v pgtype.Timestamptz
		if err := d.m.Scan(pgtype.TimestamptzOID, pgtype.TextFormatCode, text, &v); err != nil {
			return nil, err
		}
		return infinite(v.InfinityModifier, v.Time), nil
	default:
		// numeric, strings, uuid, json, enums and every other type: the
		// server's text form is the value.
		return string(text), nil
	}
}

// parseInt parses a decimal integer of bits bits the way strconv.ParseInt
// does; ok is false for anything it doesn't take (strconv then says why).
func parseInt(b []byte, bits uint) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	// 18 digits can't overflow an int64.
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	if bits == 32 && (n > math.MaxInt32 || n < math.MinInt32) {
		return 0, false
	}
	return n, true
}

// pow10 are the powers of ten an int64 holds.
var pow10 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// parseDecimal parses the server's text of a numeric(p,s) value of at most
// 18 digits ([-]digits[.digits]) into an exact big.Rat; ok is false for
// anything else.
func parseDecimal(b []byte) (*big.Rat, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	var n int64
	digits, frac := 0, -1
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + int64(c-'0')
			digits++
		case c == '.' && frac < 0 && i > 0:
			frac = 0
			continue
		default:
			return nil, false
		}
		if frac >= 0 {
			frac++
		}
	}
	if digits == 0 || digits > 18 || frac == 0 {
		return nil, false
	}
	if neg {
		n = -n
	}
	if frac <= 0 {
		return new(big.Rat).SetInt64(n), true
	}
	return new(big.Rat).SetFrac64(n, pow10[frac]), true
}

// parseHexBytea decodes bytea_output hex ("\x0aff").
func parseHexBytea(b []byte) ([]byte, bool) {
	if len(b) < 2 || b[0] != '\\' || b[1] != 'x' || len(b)%2 != 0 {
		return nil, false
	}
	out := make([]byte, (len(b)-2)/2)
	if _, err := hex.Decode(out, b[2:]); err != nil {
		return nil, false
	}
	return out, true
}

// parseISO parses DateStyle ISO's "YYYY-MM-DD" and "YYYY-MM-DD
// HH:MM:SS[.ffffff]" as a time in UTC; ok is false for any other form
// (BC, 5-digit years, infinity, an out-of-range field).
func parseISO(b []byte) (time.Time, bool) {
	if len(b) != 10 && (len(b) < 19 || len(b) == 20 || len(b) > 26) {
		return time.Time{}, false
	}
	num := func(b []byte) int {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	if b[4] != '-' || b[7] != '-' {
		return time.Time{}, false
	}
	y, mo, dd := num(b[:4]), num(b[5:7]), num(b[8:10])
	if y < 1 || mo < 1 || mo > 12 || dd < 1 || dd > daysIn(mo, y) {
		return time.Time{}, false
	}
	if len(b) == 10 {
		return time.Date(y, time.Month(mo), dd, 0, 0, 0, 0, time.UTC), true
	}
	if b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	h, mi, s := num(b[11:13]), num(b[14:16]), num(b[17:19])
	if h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 {
		return time.Time{}, false
	}
	ns := 0
	if len(b) > 19 {
		if b[19] != '.' {
			return time.Time{}, false
		}
		f := b[20:]
		if ns = num(f); ns < 0 {
			return time.Time{}, false
		}
		ns *= int(pow10[9-len(f)])
	}
	return time.Date(y, time.Month(mo), dd, h, mi, s, ns, time.UTC), true
}

// daysIn is the number of days of month m of year y (Gregorian).
func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func infinite(m pgtype.InfinityModifier, t time.Time) time.Time {
	switch m {
	case pgtype.Infinity:
		return pipeline.TimeInfinity
	case pgtype.NegativeInfinity:
		return pipeline.TimeNegInfinity
	}
	return t.UTC()
}
