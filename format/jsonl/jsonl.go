// Package jsonl writes typed rows as JSON Lines: one JSON object per
// line, keys in column order (repeated names made unique as name_2…).
// Numbers are JSON numbers with the database's digits (decimals too: no
// float rounding), booleans true/false, binary data base64, dates
// 2006-01-02, timestamps RFC 3339 (with Z when they are instants), times
// of day "15:04:05.999999" and UUIDs in their 8-4-4-4-12 form as
// strings, JSON columns embedded as JSON, arrays as JSON arrays (nested
// for nested arrays), NaN and infinities as strings.
package jsonl

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/format/internal/convert"
	"github.com/s3bridge/s3bridge/tuple"
)

// Writer writes rows as JSON Lines.
type Writer struct {
	cols []tuple.Column
	keys [][]byte // `"name":` per column, with the leading comma after the first
	w    io.Writer
	buf  []byte
}

var _ format.RowWriter = (*Writer)(nil)

// NewWriter returns a Writer of rows with the columns cols.
func NewWriter(cols []tuple.Column) *Writer {
	e := &Writer{cols: cols}
	for i, n := range convert.UniqueNames(cols) {
		var k []byte
		if i > 0 {
			k = append(k, ',')
		}
		k = appendJSONString(k, []byte(n))
		e.keys = append(e.keys, append(k, ':'))
	}
	return e
}

// Begin starts a file on w; JSON Lines has no header.
func (e *Writer) Begin(w io.Writer) error { e.w = w; return nil }

// End does nothing: every line is written whole.
func (e *Writer) End() error { return nil }

// Buffered is 0: every line is written whole.
func (e *Writer) Buffered() int64 { return 0 }

// Write writes a row as one object on one line.
func (e *Writer) Write(row []tuple.Value) error {
	e.buf = append(e.buf[:0], '{')
	for i, v := range row {
		e.buf = append(e.buf, e.keys[i]...)
		var err error
		if e.buf, err = appendJSONValue(e.buf, v, e.cols[i]); err != nil {
			return fmt.Errorf("column %s: %w", e.cols[i].Name, err)
		}
	}
	e.buf = append(e.buf, '}', '\n')
	_, err := e.w.Write(e.buf)
	return err
}

func appendJSONValue(dst []byte, v tuple.Value, c tuple.Column) ([]byte, error) {
	if v.Kind == tuple.Null {
		return append(dst, "null"...), nil
	}
	switch c.Type {
	case tuple.TypeInt8, tuple.TypeInt16, tuple.TypeInt32, tuple.TypeInt64, tuple.TypeUint8, tuple.TypeUint16, tuple.TypeUint32, tuple.TypeUint64, tuple.TypeDecimal:
		if v.Kind == tuple.Text {
			return appendJSONNumber(dst, v.Bytes), nil
		}
	case tuple.TypeFloat32, tuple.TypeFloat64:
		f, err := convert.Float(v)
		if err != nil {
			return appendJSONString(dst, v.Bytes), nil
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return appendJSONString(dst, []byte(strconv.FormatFloat(f, 'g', -1, 64))), nil
		}
		bits := 64
		if c.Type == tuple.TypeFloat32 {
			bits = 32
		}
		return strconv.AppendFloat(dst, f, 'g', -1, bits), nil
	case tuple.TypeBool:
		b, err := convert.Bool(v)
		if err != nil {
			return nil, err
		}
		return strconv.AppendBool(dst, b), nil
	case tuple.TypeBytes:
		if v.Kind == tuple.Bytes || v.Kind == tuple.Text {
			dst = append(dst, '"')
			dst = base64.StdEncoding.AppendEncode(dst, v.Bytes)
			return append(dst, '"'), nil
		}
	case tuple.TypeDate, tuple.TypeTimestamp, tuple.TypeTimestampTZ:
		if v.Kind == tuple.Time {
			return appendJSONTime(dst, v.Time, c.Type), nil
		}
	case tuple.TypeJSON:
		if v.Kind == tuple.Text && json.Valid(v.Bytes) {
			return append(dst, v.Bytes...), nil
		}
	case tuple.TypeTime:
		if v.Kind == tuple.Int {
			dst = append(dst, '"')
			dst = convert.AppendClock(dst, v.Int)
			return append(dst, '"'), nil
		}
	case tuple.TypeUUID:
		if v.Kind == tuple.Bytes && len(v.Bytes) == 16 {
			dst = append(dst, '"')
			dst = convert.AppendUUID(dst, v.Bytes)
			return append(dst, '"'), nil
		}
	case tuple.TypeList:
		if v.Kind == tuple.List && c.Elem != nil {
			return appendJSONArray(dst, v.List, *c.Elem)
		}
	}
	switch v.Kind {
	case tuple.Int, tuple.Float, tuple.Bool:
		return convert.AppendText(dst, v, c), nil
	case tuple.Time:
		return appendJSONTime(dst, v.Time, tuple.TypeTimestamp), nil
	case tuple.List:
		return appendJSONArray(dst, v.List, tuple.Column{Type: tuple.TypeText})
	case tuple.Bytes:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, v.Bytes)
		return append(dst, '"'), nil
	}
	return appendJSONString(dst, v.Bytes), nil
}

// appendJSONArray writes a list as a JSON array, each element by the
// element type (a nested list as a nested array, NULL as null).
func appendJSONArray(dst []byte, list []tuple.Value, elem tuple.Column) ([]byte, error) {
	dst = append(dst, '[')
	for i, v := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendJSONValue(dst, v, elem); err != nil {
			return nil, fmt.Errorf("element %d: %w", i+1, err)
		}
	}
	return append(dst, ']'), nil
}

func appendJSONTime(dst []byte, t time.Time, typ tuple.Type) []byte {
	dst = append(dst, '"')
	switch typ {
	case tuple.TypeDate:
		dst = t.AppendFormat(dst, "2006-01-02")
	case tuple.TypeTimestampTZ:
		dst = t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.999999999Z")
	default:
		dst = t.AppendFormat(dst, "2006-01-02T15:04:05.999999999")
	}
	return append(dst, '"')
}

// appendJSONNumber copies a number's text when it is a valid JSON number
// and quotes it otherwise (PostgreSQL's NaN, Infinity).
func appendJSONNumber(dst, s []byte) []byte {
	if validJSONNumber(s) {
		return append(dst, s...)
	}
	return appendJSONString(dst, s)
}

func validJSONNumber(s []byte) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	start := i
	if n := digits(); n == 0 || (n > 1 && s[start] == '0') {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// appendJSONString quotes s as a JSON string; bytes that are not UTF-8
// become U+FFFD, as encoding/json does.
func appendJSONString(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\b':
				dst = append(dst, '\\', 'b')
			case c == '\f':
				dst = append(dst, '\\', 'f')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but not valid JavaScript source; escaped as
			// encoding/json does.
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
