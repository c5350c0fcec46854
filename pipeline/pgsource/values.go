package pgsource

import (
	"fmt"
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

func (d *valueDecoder) decodeScalar(t pipeline.Type, text []byte) (any, error) {
	s := string(text)
	switch t.Kind {
	case pipeline.KindInt32:
		v, err := strconv.ParseInt(s, 10, 32)
		return int32(v), err
	case pipeline.KindInt64:
		return strconv.ParseInt(s, 10, 64)
	case pipeline.KindDecimal:
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			// NaN is the one value numeric(p,s) holds that a decimal can't.
			return nil, fmt.Errorf("numeric value %q has no Avro decimal form (alter the column to unconstrained numeric to carry it)", s)
		}
		return r, nil
	case pipeline.KindFloat32:
		v, err := strconv.ParseFloat(s, 32)
		return float32(v), err
	case pipeline.KindFloat64:
		return strconv.ParseFloat(s, 64)
	case pipeline.KindBool:
		switch s {
		case "t":
			return true, nil
		case "f":
			return false, nil
		}
		return nil, fmt.Errorf("boolean %q", s)
	case pipeline.KindBytes:
		var b []byte
		if err := d.m.Scan(pgtype.ByteaOID, pgtype.TextFormatCode, text, &b); err != nil {
			return nil, err
		}
		if b == nil {
			b = []byte{}
		}
		return b, nil
	case pipeline.KindDate:
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
		var v pgtype.Timestamp
		if err := d.m.Scan(pgtype.TimestampOID, pgtype.TextFormatCode, text, &v); err != nil {
			return nil, err
		}
		return infinite(v.InfinityModifier, v.Time), nil
	case pipeline.KindTimestampTZ:
		var v pgtype.Timestamptz
		if err := d.m.Scan(pgtype.TimestamptzOID, pgtype.TextFormatCode, text, &v); err != nil {
			return nil, err
		}
		return infinite(v.InfinityModifier, v.Time), nil
	default:
		// numeric, strings, uuid, json, enums and every other type: the
		// server's text form is the value.
		return s, nil
	}
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
