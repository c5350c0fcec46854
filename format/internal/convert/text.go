package convert

import (
	"strconv"
	"strings"

	"github.com/s3bridge/s3bridge/tuple"
)

// AppendText writes a value in the text form the delimited formats use:
// the database's own text when it sent text, else numbers as Go prints
// them exactly, times as MySQL prints them, a time of day and a UUID as
// PostgreSQL prints them, a list as a PostgreSQL array literal.
func AppendText(dst []byte, v tuple.Value, c tuple.Column) []byte {
	switch v.Kind {
	case tuple.Bytes:
		if c.Type == tuple.TypeUUID && len(v.Bytes) == 16 {
			return AppendUUID(dst, v.Bytes)
		}
		return append(dst, v.Bytes...)
	case tuple.Text:
		return append(dst, v.Bytes...)
	case tuple.List:
		return appendArray(dst, v.List, c)
	case tuple.Int:
		if c.Type == tuple.TypeTime {
			return AppendClock(dst, v.Int)
		}
		if c.Type == tuple.TypeUint64 {
			return strconv.AppendUint(dst, uint64(v.Int), 10)
		}
		return strconv.AppendInt(dst, v.Int, 10)
	case tuple.Float:
		bits := 64
		if c.Type == tuple.TypeFloat32 {
			bits = 32
		}
		return strconv.AppendFloat(dst, v.Float, 'g', -1, bits)
	case tuple.Bool:
		if v.Int != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case tuple.Time:
		return appendSQLTime(dst, v, c)
	}
	return dst
}

// appendSQLTime prints a date as 2006-01-02 and a timestamp as
// 2006-01-02 15:04:05 with the column's fractional digits (all six, less
// trailing zeros, when the column doesn't say).
func appendSQLTime(dst []byte, v tuple.Value, c tuple.Column) []byte {
	t := v.Time
	if c.Type == tuple.TypeDate {
		return t.AppendFormat(dst, "2006-01-02")
	}
	switch {
	case c.Scale > 0 && c.Scale <= 6:
		return t.AppendFormat(dst, "2006-01-02 15:04:05."+strings.Repeat("0", c.Scale))
	case c.Scale == 0 && (c.Type == tuple.TypeTimestamp || c.Type == tuple.TypeTimestampTZ) && t.Nanosecond() == 0:
		return t.AppendFormat(dst, "2006-01-02 15:04:05")
	}
	return t.AppendFormat(dst, "2006-01-02 15:04:05.999999")
}

// appendArray writes a list as PostgreSQL's array literal, {a,"b c",NULL}
// ({{1,2},{3,4}} nested): an element is double-quoted, with " and \
// escaped, when it is empty, the word NULL, or holds a character the
// literal's syntax uses.
func appendArray(dst []byte, list []tuple.Value, c tuple.Column) []byte {
	elem := tuple.Column{Type: tuple.TypeText}
	if c.Elem != nil {
		elem = *c.Elem
	}
	dst = append(dst, '{')
	for i, v := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		switch v.Kind {
		case tuple.Null:
			dst = append(dst, "NULL"...)
			continue
		case tuple.List:
			dst = appendArray(dst, v.List, elem)
			continue
		}
		start := len(dst)
		dst = AppendText(dst, v, elem)
		s := dst[start:]
		if !needsArrayQuotes(s) {
			continue
		}
		quoted := make([]byte, 0, len(s)+2)
		quoted = append(quoted, '"')
		for _, b := range s {
			if b == '"' || b == '\\' {
				quoted = append(quoted, '\\')
			}
			quoted = append(quoted, b)
		}
		dst = append(append(dst[:start], quoted...), '"')
	}
	return append(dst, '}')
}

func needsArrayQuotes(s []byte) bool {
	if len(s) == 0 || strings.EqualFold(string(s), "NULL") {
		return true
	}
	for _, b := range s {
		switch b {
		case '{', '}', ',', '"', '\\', ' ', '\t', '\n', '\r', '\v', '\f':
			return true
		}
	}
	return false
}
