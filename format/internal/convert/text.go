package convert

import (
	"strconv"
	"strings"

	"github.com/s3bridge/s3bridge/tuple"
)

// AppendText writes a value in the text form the delimited formats use:
// the database's own text when it sent text, else numbers as Go prints
// them exactly, times as MySQL prints them.
func AppendText(dst []byte, v tuple.Value, c tuple.Column) []byte {
	switch v.Kind {
	case tuple.Text, tuple.Bytes:
		return append(dst, v.Bytes...)
	case tuple.Int:
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
