// Package convert turns a typed value, in whatever form its source sent it
// (a PostgreSQL numeric as text, a SQLite date as an integer), into the
// forms the row writers need: Go numbers, booleans and times, a decimal's
// unscaled digits, the text the delimited formats print. Errors name the
// value; the caller adds the column.
package convert

import (
	"fmt"
	"github.com/s3bridge/s3bridge/tuple"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Int reads an integer: an integer, a boolean (0 or 1), a float without a
// fractional part, or decimal text.
func Int(v tuple.Value) (int64, error) {
	switch v.Kind {
	case tuple.Int, tuple.Bool:
		return v.Int, nil
	case tuple.Float:
		if v.Float == math.Trunc(v.Float) && math.Abs(v.Float) < 1<<63 {
			return int64(v.Float), nil
		}
	case tuple.Text:
		return strconv.ParseInt(string(v.Bytes), 10, 64)
	}
	return 0, fmt.Errorf("%s is not an integer", Describe(v))
}

// Uint is Int for BIGINT UNSIGNED, whose text may exceed int64.
func Uint(v tuple.Value) (uint64, error) {
	if v.Kind == tuple.Text {
		return strconv.ParseUint(string(v.Bytes), 10, 64)
	}
	n, err := Int(v)
	return uint64(n), err
}

// Float reads a number: a float, an integer, a boolean, or text.
func Float(v tuple.Value) (float64, error) {
	switch v.Kind {
	case tuple.Float:
		return v.Float, nil
	case tuple.Int, tuple.Bool:
		return float64(v.Int), nil
	case tuple.Text:
		return strconv.ParseFloat(string(v.Bytes), 64)
	}
	return 0, fmt.Errorf("%s is not a number", Describe(v))
}

// Bool reads a boolean: a boolean, an integer (non-zero is true), or
// the words PostgreSQL accepts (t, true, 1, y, yes, on and their opposites).
func Bool(v tuple.Value) (bool, error) {
	switch v.Kind {
	case tuple.Bool, tuple.Int:
		return v.Int != 0, nil
	case tuple.Text:
		switch strings.ToLower(string(v.Bytes)) {
		case "t", "true", "1", "y", "yes", "on":
			return true, nil
		case "f", "false", "0", "n", "no", "off":
			return false, nil
		}
	}
	return false, fmt.Errorf("%s is not a boolean", Describe(v))
}

// timeLayouts are the text forms of dates and times the databases send.
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z07", "2006-01-02 15:04:05.999999999",
	time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02",
}

// Time reads a date or timestamp: a time, its text in one of timeLayouts
// (returned in UTC), or Unix seconds.
func Time(v tuple.Value) (time.Time, error) {
	switch v.Kind {
	case tuple.Time:
		return v.Time, nil
	case tuple.Text:
		s := string(v.Bytes)
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC(), nil
			}
		}
	case tuple.Int:
		// SQLite's unixepoch() integers.
		return time.Unix(v.Int, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%s is not a date or time", Describe(v))
}

// Unscaled returns a decimal's digits as an integer scaled by 10^scale:
// "-12.3" at scale 2 is -1230. A value with more fractional digits than the
// scale is refused, not rounded.
func Unscaled(v tuple.Value, scale int) (*big.Int, error) {
	var s string
	switch v.Kind {
	case tuple.Text:
		s = string(v.Bytes)
	case tuple.Int:
		s = strconv.FormatInt(v.Int, 10)
	case tuple.Float:
		s = strconv.FormatFloat(v.Float, 'f', -1, 64)
	default:
		return nil, fmt.Errorf("%s is not a decimal", Describe(v))
	}
	intPart, frac, _ := strings.Cut(s, ".")
	frac = strings.TrimRight(frac, "0")
	if len(frac) > scale {
		return nil, fmt.Errorf("%q has more than %d decimal places", s, scale)
	}
	digits := intPart + frac + strings.Repeat("0", scale-len(frac))
	n, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return nil, fmt.Errorf("%q is not a decimal", s)
	}
	return n, nil
}

// Unscaled64 is Unscaled for decimals of up to 18 digits, without big.Int:
// the common case, parsed digit by digit.
func Unscaled64(v tuple.Value, scale int) (int64, error) {
	if v.Kind != tuple.Text {
		n, err := Unscaled(v, scale)
		if err != nil {
			return 0, err
		}
		return n.Int64(), nil
	}
	b := v.Bytes
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	var n int64
	frac, digits := -1, 0
	for _, c := range b {
		switch {
		case c == '.' && frac < 0:
			frac = 0
		case c >= '0' && c <= '9':
			if frac >= 0 {
				if frac == scale {
					if c != '0' {
						return 0, fmt.Errorf("%q has more than %d decimal places", v.Bytes, scale)
					}
					continue
				}
				frac++
			}
			if digits++; digits > 18 {
				n2, err := Unscaled(v, scale) // let big.Int say what's wrong
				if err != nil {
					return 0, err
				}
				return n2.Int64(), nil
			}
			n = n*10 + int64(c-'0')
		default:
			return 0, fmt.Errorf("%q is not a decimal", v.Bytes)
		}
	}
	if digits == 0 {
		return 0, fmt.Errorf("%q is not a decimal", v.Bytes)
	}
	for ; max(frac, 0) < scale; frac = max(frac, 0) + 1 {
		n *= 10
	}
	if neg {
		n = -n
	}
	return n, nil
}

// Describe names a value in an error message: text quoted and cut short,
// binary data by its size.
func Describe(v tuple.Value) string {
	switch v.Kind {
	case tuple.Text:
		if len(v.Bytes) > 40 {
			return strconv.Quote(string(v.Bytes[:40]) + "…")
		}
		return strconv.Quote(string(v.Bytes))
	case tuple.Bytes:
		return fmt.Sprintf("%d bytes of binary data", len(v.Bytes))
	case tuple.Int:
		return strconv.FormatInt(v.Int, 10)
	case tuple.Float:
		return strconv.FormatFloat(v.Float, 'g', -1, 64)
	case tuple.Bool:
		return strconv.FormatBool(v.Int != 0)
	case tuple.Time:
		return v.Time.Format(time.RFC3339Nano)
	case tuple.List:
		return fmt.Sprintf("a list of %d elements", len(v.List))
	}
	return "NULL"
}

// ResolveUnknown gives a TypeUnknown column the type its first value has
// (SQLite expressions carry no declared type).
func ResolveUnknown(cols []tuple.Column, row []tuple.Value) []tuple.Column {
	out := make([]tuple.Column, len(cols))
	copy(out, cols)
	for i := range out {
		if out[i].Type != tuple.TypeUnknown {
			continue
		}
		out[i].Type = tuple.TypeText
		if row == nil {
			continue
		}
		switch row[i].Kind {
		case tuple.Int:
			out[i].Type = tuple.TypeInt64
		case tuple.Float:
			out[i].Type = tuple.TypeFloat64
		case tuple.Bool:
			out[i].Type = tuple.TypeBool
		case tuple.Bytes:
			out[i].Type = tuple.TypeBytes
		case tuple.Time:
			out[i].Type = tuple.TypeTimestamp
		}
	}
	return out
}

// UniqueNames renames repeated column names (SELECT a.id, b.id) to name_2,
// name_3…, which JSON objects and Parquet schemas need.
func UniqueNames(cols []tuple.Column) []string {
	names := make([]string, len(cols))
	seen := map[string]bool{}
	for i, c := range cols {
		n := c.Name
		for k := 2; seen[n]; k++ {
			n = c.Name + "_" + strconv.Itoa(k)
		}
		seen[n] = true
		names[i] = n
	}
	return names
}
