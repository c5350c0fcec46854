package export

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Conversions from whatever form a source sent to the typed forms JSON
// Lines and Parquet need. Errors name the value; the caller adds the
// column.

func asInt(v Value) (int64, error) {
	switch v.Kind {
	case Int, Bool:
		return v.Int, nil
	case Float:
		if v.Float == math.Trunc(v.Float) && math.Abs(v.Float) < 1<<63 {
			return int64(v.Float), nil
		}
	case Text:
		return strconv.ParseInt(string(v.Bytes), 10, 64)
	}
	return 0, fmt.Errorf("%s is not an integer", describe(v))
}

func asUint(v Value) (uint64, error) {
	if v.Kind == Text {
		return strconv.ParseUint(string(v.Bytes), 10, 64)
	}
	n, err := asInt(v)
	return uint64(n), err
}

func asFloat(v Value) (float64, error) {
	switch v.Kind {
	case Float:
		return v.Float, nil
	case Int, Bool:
		return float64(v.Int), nil
	case Text:
		return strconv.ParseFloat(string(v.Bytes), 64)
	}
	return 0, fmt.Errorf("%s is not a number", describe(v))
}

func asBool(v Value) (bool, error) {
	switch v.Kind {
	case Bool, Int:
		return v.Int != 0, nil
	case Text:
		switch strings.ToLower(string(v.Bytes)) {
		case "t", "true", "1", "y", "yes", "on":
			return true, nil
		case "f", "false", "0", "n", "no", "off":
			return false, nil
		}
	}
	return false, fmt.Errorf("%s is not a boolean", describe(v))
}

// timeLayouts are the text forms of dates and times the databases send.
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z07", "2006-01-02 15:04:05.999999999",
	time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02",
}

func asTime(v Value) (time.Time, error) {
	switch v.Kind {
	case Time:
		return v.Time, nil
	case Text:
		s := string(v.Bytes)
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC(), nil
			}
		}
	case Int:
		// SQLite's unixepoch() integers.
		return time.Unix(v.Int, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%s is not a date or time", describe(v))
}

// unscaled returns a decimal's digits as an integer scaled by 10^scale:
// "-12.3" at scale 2 is -1230. A value with more fractional digits than the
// scale is refused, not rounded.
func unscaled(v Value, scale int) (*big.Int, error) {
	var s string
	switch v.Kind {
	case Text:
		s = string(v.Bytes)
	case Int:
		s = strconv.FormatInt(v.Int, 10)
	case Float:
		s = strconv.FormatFloat(v.Float, 'f', -1, 64)
	default:
		return nil, fmt.Errorf("%s is not a decimal", describe(v))
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

// unscaled64 is unscaled for decimals of up to 18 digits, without big.Int:
// the common case, parsed digit by digit.
func unscaled64(v Value, scale int) (int64, error) {
	if v.Kind != Text {
		n, err := unscaled(v, scale)
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
				n2, err := unscaled(v, scale) // let big.Int say what's wrong
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

func describe(v Value) string {
	switch v.Kind {
	case Text:
		if len(v.Bytes) > 40 {
			return strconv.Quote(string(v.Bytes[:40]) + "…")
		}
		return strconv.Quote(string(v.Bytes))
	case Bytes:
		return fmt.Sprintf("%d bytes of binary data", len(v.Bytes))
	case Int:
		return strconv.FormatInt(v.Int, 10)
	case Float:
		return strconv.FormatFloat(v.Float, 'g', -1, 64)
	case Bool:
		return strconv.FormatBool(v.Int != 0)
	case Time:
		return v.Time.Format(time.RFC3339Nano)
	}
	return "NULL"
}

// resolveUnknown gives a TypeUnknown column the type its first value has
// (SQLite expressions carry no declared type).
func resolveUnknown(cols []Column, row []Value) []Column {
	out := make([]Column, len(cols))
	copy(out, cols)
	for i := range out {
		if out[i].Type != TypeUnknown {
			continue
		}
		out[i].Type = TypeText
		if row == nil {
			continue
		}
		switch row[i].Kind {
		case Int:
			out[i].Type = TypeInt64
		case Float:
			out[i].Type = TypeFloat64
		case Bool:
			out[i].Type = TypeBool
		case Bytes:
			out[i].Type = TypeBytes
		case Time:
			out[i].Type = TypeTimestamp
		}
	}
	return out
}

// uniqueNames renames repeated column names (SELECT a.id, b.id) to name_2,
// name_3…, which JSON objects and Parquet schemas need.
func uniqueNames(cols []Column) []string {
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
