package pgsource

import (
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/s3bridge/s3bridge/pipeline"
)

// valueDecoder turns pgoutput's text-format column values into the domain's
// Go values (see package pipeline). The replication session runs with
// DateStyle ISO, TimeZone UTC, bytea_output hex and extra_float_digits 3
// (see replicationConfig), so the text forms are the ones parsed here.
type valueDecoder struct {
	m *pgtype.Map
}

func newValueDecoder() *valueDecoder { return &valueDecoder{m: pgtype.NewMap()} }

func (d *valueDecoder) decode(t pipeline.Type, text []byte) (any, error) {
	if t.Kind == pipeline.KindArray {
		return d.decodeArray(t, text)
	}
	return d.decodeScalar(t, text)
}

// decodeArray splits an array literal (the syntax is the same whatever the
// element type, so it is parsed as text[]) and decodes each element.
// Multi-dimensional arrays are flattened in row-major order.
func (d *valueDecoder) decodeArray(t pipeline.Type, text []byte) (any, error) {
	var flat pgtype.FlatArray[*string]
	if err := d.m.Scan(pgtype.TextArrayOID, pgtype.TextFormatCode, text, &flat); err != nil {
		return nil, fmt.Errorf("parse array %.60q: %w", text, err)
	}
	out := make([]any, len(flat))
	for i, e := range flat {
		if e == nil {
			continue
		}
		v, err := d.decodeScalar(*t.Elem, []byte(*e))
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
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
