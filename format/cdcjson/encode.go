package cdcjson

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/s3bridge/s3bridge/format/internal/envelope"
	"github.com/s3bridge/s3bridge/pipeline"
)

// The JSON text of one change, written by hand: the domain's values map
// one to one onto JSON, and encoding/json would need a value tree per row
// and could not tell a date from a timestamp (both time.Time).

// appendChange appends the object the package comment describes, without
// the newline.
func (w *Writer) appendChange(b []byte, c *pipeline.Change, tsMillis int64) ([]byte, error) {
	b = append(b, `{"op":"`...)
	b = append(b, byte(c.Op))
	b = append(b, '"')
	var err error
	for _, img := range []struct {
		name string
		row  pipeline.Row
	}{{"before", c.Before}, {"after", c.After}} {
		b = append(b, `,"`...)
		b = append(b, img.name...)
		b = append(b, `":`...)
		if img.row == nil {
			b = append(b, "null"...)
			continue
		}
		if b, err = w.appendRow(b, img.row); err != nil {
			return b, fmt.Errorf("%s: %w", img.name, err)
		}
	}
	s := c.Source
	b = append(b, `,"source":{"lsn":`...)
	b = strconv.AppendUint(b, uint64(s.LSN), 10)
	b = append(b, `,"tx_id":`...)
	if s.TxID == 0 {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, s.TxID, 10)
	}
	b = append(b, `,"commit_ts":`...)
	if s.CommitTime.IsZero() {
		b = append(b, "null"...)
	} else {
		b = appendTimestamp(b, s.CommitTime, true)
	}
	for _, f := range []struct{ name, v string }{{"database", s.Database}, {"schema", s.Schema}, {"table", s.Table}} {
		b = append(b, `,"`...)
		b = append(b, f.name...)
		b = append(b, `":`...)
		if b, err = appendString(b, f.v); err != nil {
			return b, fmt.Errorf("source: %w", err)
		}
	}
	b = append(b, `,"snapshot":`...)
	b = strconv.AppendBool(b, s.Snapshot)
	if b, err = appendBinlog(b, s.Binlog); err != nil {
		return b, fmt.Errorf("source: %w", err)
	}
	b = append(b, `},"ts_ms":`...)
	b = strconv.AppendInt(b, tsMillis, 10)
	b = append(b, `,"unchanged_toast_columns":[`...)
	for i, name := range c.UnchangedToast {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendString(b, name); err != nil {
			return b, fmt.Errorf("unchanged_toast_columns: %w", err)
		}
	}
	return append(b, "]}"...), nil
}

func (w *Writer) appendRow(b []byte, row pipeline.Row) ([]byte, error) {
	b = append(b, '{')
	var err error
	for i, v := range row {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, w.names[i]...) // Avro names: [A-Za-z0-9_] only
		b = append(b, `":`...)
		if v == nil {
			b = append(b, "null"...)
			continue
		}
		if b, err = appendValue(b, w.schema.Columns[i].Type, v); err != nil {
			return b, fmt.Errorf("column %s: %w", w.schema.Columns[i].Name, err)
		}
	}
	return append(b, '}'), nil
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
		return strconv.AppendInt(b, int64(x), 10), nil
	case pipeline.KindInt64:
		x, ok := v.(int64)
		if !ok {
			return bad()
		}
		return strconv.AppendInt(b, x, 10), nil
	case pipeline.KindDecimal:
		x, ok := v.(*big.Rat)
		if !ok || x == nil {
			return bad()
		}
		b = append(b, '"')
		b, err := envelope.DecimalText(b, x, t.Scale)
		return append(b, '"'), err
	case pipeline.KindFloat32:
		x, ok := v.(float32)
		if !ok {
			return bad()
		}
		return appendFloat(b, float64(x), 32), nil
	case pipeline.KindFloat64:
		x, ok := v.(float64)
		if !ok {
			return bad()
		}
		return appendFloat(b, x, 64), nil
	case pipeline.KindBool:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		return strconv.AppendBool(b, x), nil
	case pipeline.KindBytes:
		x, ok := v.([]byte)
		if !ok {
			return bad()
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, x)
		return append(b, '"'), nil
	case pipeline.KindDate:
		x, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		if inf, ok := infinity(x); ok {
			return append(b, inf...), nil
		}
		b = append(b, '"')
		b = appendDate(b, x)
		return append(b, '"'), nil
	case pipeline.KindTime:
		x, ok := v.(time.Duration)
		if !ok {
			return bad()
		}
		b = append(b, '"')
		b = appendClock(b, x.Microseconds())
		return append(b, '"'), nil
	case pipeline.KindTimestamp, pipeline.KindTimestampTZ:
		x, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		return appendTimestamp(b, x, t.Kind == pipeline.KindTimestampTZ), nil
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
		b = append(b, '[')
		var err error
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if e == nil {
				b = append(b, "null"...)
				continue
			}
			if b, err = appendValue(b, *t.Elem, e); err != nil {
				return b, fmt.Errorf("element %d: %w", i+1, err)
			}
		}
		return append(b, ']'), nil
	}
	return b, fmt.Errorf("unknown kind %v", t.Kind)
}

// infinity returns the JSON string of a ±infinity date or timestamp.
func infinity(t time.Time) (string, bool) {
	switch {
	case t.Equal(pipeline.TimeInfinity):
		return `"infinity"`, true
	case t.Equal(pipeline.TimeNegInfinity):
		return `"-infinity"`, true
	}
	return "", false
}

// appendTimestamp appends t's wall clock in UTC as an ISO 8601 string with
// six fractional digits, and a Z when it is an instant.
func appendTimestamp(b []byte, t time.Time, utc bool) []byte {
	if inf, ok := infinity(t); ok {
		return append(b, inf...)
	}
	t = t.UTC()
	b = append(b, '"')
	b = appendDate(b, t)
	b = append(b, 'T')
	h, m, s := t.Clock()
	b = appendClock(b, int64(h*3600+m*60+s)*1e6+int64(t.Nanosecond()/1e3))
	if utc {
		b = append(b, 'Z')
	}
	return append(b, '"')
}

// appendDate appends YYYY-MM-DD, with ISO 8601's expanded years outside
// 0000-9999: "+10000", "-0044".
func appendDate(b []byte, t time.Time) []byte {
	y, mo, d := t.UTC().Date()
	switch {
	case y > 9999:
		b = append(b, '+')
	case y < 0:
		b = append(b, '-')
		y = -y
	}
	b = appendPadded(b, int64(y), 4)
	b = append(b, '-')
	b = appendPadded(b, int64(mo), 2)
	b = append(b, '-')
	return appendPadded(b, int64(d), 2)
}

// appendClock appends HH:MM:SS.ffffff for us microseconds since midnight
// (24:00:00.000000 included: PostgreSQL's time allows it).
func appendClock(b []byte, us int64) []byte {
	s := us / 1e6
	b = appendPadded(b, s/3600, 2)
	b = append(b, ':')
	b = appendPadded(b, s/60%60, 2)
	b = append(b, ':')
	b = appendPadded(b, s%60, 2)
	b = append(b, '.')
	return appendPadded(b, us%1e6, 6)
}

func appendPadded(b []byte, n int64, width int) []byte {
	s := strconv.AppendInt(nil, n, 10)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}

// appendFloat writes f as encoding/json does (the shortest form that
// reads back as the same float of that size, exponents only for very
// large and small values); NaN and ±Infinity, which JSON has no number
// for, are strings as PostgreSQL spells them.
func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// 1e-07 becomes 1e-7, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping what JSON requires
// and U+2028/U+2029 (as encoding/json does, for JavaScript), not <, > and &.
func appendString(b []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return b, fmt.Errorf("string %.40q is not valid UTF-8", s)
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			default:
				b = append(b, `\u00`...)
				b = append(b, hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xF])
			start = i + size
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"'), nil
}

// appendBinlog appends source's gtid, file, pos and server_id: each null
// when p is nil, gtid and file when empty, server_id when 0.
func appendBinlog(b []byte, p *pipeline.BinlogPosition) ([]byte, error) {
	if p == nil {
		return append(b, `,"gtid":null,"file":null,"pos":null,"server_id":null`...), nil
	}
	var err error
	for _, f := range []struct{ name, v string }{{"gtid", p.GTID}, {"file", p.File}} {
		b = append(b, `,"`...)
		b = append(b, f.name...)
		b = append(b, `":`...)
		if f.v == "" {
			b = append(b, "null"...)
		} else if b, err = appendString(b, f.v); err != nil {
			return b, err
		}
	}
	b = append(b, `,"pos":`...)
	if p.File == "" {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendUint(b, uint64(p.Pos), 10)
	}
	b = append(b, `,"server_id":`...)
	if p.ServerID == 0 {
		return append(b, "null"...), nil
	}
	return strconv.AppendUint(b, uint64(p.ServerID), 10), nil
}
