package postgres

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/s3bridge/s3bridge/instance/postgres/coltype"
)

// The alphabets of the types' text forms (csvColumn.scan); "" is any text.
const (
	intAlphabet       = "-0123456789"
	floatAlphabet     = "-+.0123456789eNaInfity"
	numericAlphabet   = "-.0123456789NaInfity"
	dateAlphabet      = "-0123456789 BCinfity"
	timestampAlphabet = "-:.0123456789 BCinfity"
	timeAlphabet      = ":.0123456789"
	hexAlphabet       = `\x0123456789abcdef-`
)

// utcZones are TimeZone settings under which timestamptz prints +00.
var utcZones = map[string]bool{"UTC": true, "Etc/UTC": true}

// csvKind is how a column's binary values are printed.
type csvKind uint8

const (
	kindText csvKind = iota + 1 // text, varchar, bpchar, name, json: binary is text
	kindJSONB
	kindBool
	kindInt2
	kindInt4
	kindInt8
	kindOID
	kindFloat8
	kindNumeric
	kindUUID
	kindBytea
	kindDate
	kindTimestamp
	kindTimestampTZ
	kindTime
	kinds
)

// kindSizes are the fixed sizes of the kinds' binary values, 0 for any.
var kindSizes = [kinds]int{kindBool: 1, kindInt2: 2, kindInt4: 4, kindInt8: 8, kindOID: 4, kindFloat8: 8,
	kindUUID: 16, kindDate: 4, kindTimestamp: 8, kindTimestampTZ: 8, kindTime: 8}

// csvKindOf returns the kind of a column of type oid, and the alphabet of
// its text, when its text under the session s is one s3bridge writes
// exactly as PostgreSQL's output function does; 0 otherwise.
func csvKindOf(oid uint32, s session) (csvKind, string) {
	isoDates := strings.HasPrefix(s.dateStyle, "ISO,")
	switch oid {
	case textOID, varcharOID, bpcharOID, nameOID, jsonOID:
		// Their binary form is their text, in the client encoding.
		return kindText, ""
	case jsonbOID:
		return kindJSONB, ""
	case boolOID:
		return kindBool, "ft"
	case int2OID:
		return kindInt2, intAlphabet
	case int4OID:
		return kindInt4, intAlphabet
	case int8OID:
		return kindInt8, intAlphabet
	case oidOID:
		return kindOID, intAlphabet
	case float8OID:
		// With extra_float_digits ≤ 0 PostgreSQL prints %.{15 + digits}g,
		// not the shortest form. float4 is not here: its output (f2s.c)
		// has no port in s3bridge.
		if s.floatDigits >= 1 {
			return kindFloat8, floatAlphabet
		}
	case coltype.NumericOID:
		return kindNumeric, numericAlphabet
	case uuidOID:
		return kindUUID, hexAlphabet
	case byteaOID:
		if s.byteaOutput == "hex" {
			return kindBytea, hexAlphabet
		}
	case dateOID:
		if isoDates {
			return kindDate, dateAlphabet
		}
	case timestampOID:
		if isoDates {
			return kindTimestamp, timestampAlphabet
		}
	case timestamptzOID:
		if isoDates && utcZones[s.timeZone] {
			return kindTimestampTZ, timestampAlphabet + "+"
		}
	case timeOID:
		return kindTime, timeAlphabet
	}
	return 0, ""
}

// encode appends the text of v, a binary value of c's kind other than
// text, to dst.
func (c *csvColumn) encode(dst, v []byte) ([]byte, error) {
	if n := kindSizes[c.kind]; n != 0 && len(v) != n {
		return dst, fmt.Errorf("binary value of %d bytes, want %d", len(v), n)
	}
	switch c.kind {
	case kindJSONB:
		// A version byte, 1, before the text jsonb_out prints.
		if len(v) == 0 || v[0] != 1 {
			return dst, fmt.Errorf("jsonb in binary of an unknown version")
		}
		return append(dst, v[1:]...), nil
	case kindBool:
		return append(dst, "ft"[min(v[0], 1)]), nil
	case kindInt2:
		return appendInt(dst, int64(int16(binary.BigEndian.Uint16(v)))), nil
	case kindInt4:
		return appendInt(dst, int64(int32(binary.BigEndian.Uint32(v)))), nil
	case kindInt8:
		return appendInt(dst, int64(binary.BigEndian.Uint64(v))), nil
	case kindOID:
		return appendUint(dst, uint64(binary.BigEndian.Uint32(v))), nil
	case kindFloat8:
		return appendFloat8(dst, math.Float64frombits(binary.BigEndian.Uint64(v))), nil
	case kindNumeric:
		return appendNumeric(dst, v)
	case kindUUID:
		return appendUUID(dst, v), nil
	case kindBytea:
		return appendBytea(dst, v), nil
	case kindDate:
		return c.appendDate(dst, v), nil
	case kindTimestamp, kindTimestampTZ:
		return c.appendTimestamp(dst, v, c.kind == kindTimestampTZ), nil
	case kindTime:
		return appendClock(dst, int64(binary.BigEndian.Uint64(v))), nil
	}
	return dst, fmt.Errorf("no encoder for kind %d", c.kind)
}

// digitPairs are 00 to 99.
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendUint is strconv.AppendUint(dst, u, 10), its digits written in
// place.
func appendUint(dst []byte, u uint64) []byte {
	if u < 10 {
		return append(dst, byte('0'+u))
	}
	// The number of digits: log10 from the bit length, corrected.
	n := bits.Len64(u)*1233>>12 + 1
	if u < pow10[n-1] {
		n--
	}
	if cap(dst)-len(dst) < n {
		dst = slices.Grow(dst, n)
	}
	i := len(dst) + n
	dst = dst[:i]
	for u >= 100 {
		q := u / 100
		r := (u - q*100) * 2
		i -= 2
		dst[i], dst[i+1] = digitPairs[r], digitPairs[r+1]
		u = q
	}
	if u >= 10 {
		dst[i-2], dst[i-1] = digitPairs[2*u], digitPairs[2*u+1]
	} else {
		dst[i-1] = byte('0' + u)
	}
	return dst
}

var pow10 = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

func appendInt(dst []byte, n int64) []byte {
	if n < 0 {
		return appendUint(append(dst, '-'), uint64(-n)) // -MinInt64 is itself as uint64
	}
	return appendUint(dst, uint64(n))
}

const hexDigits = "0123456789abcdef"

// appendBytea prints bytea_output 'hex': \x and two lower-case digits a
// byte.
func appendBytea(dst, v []byte) []byte {
	dst = append(dst, '\\', 'x')
	for _, c := range v {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
	}
	return dst
}

func appendUUID(dst, v []byte) []byte {
	for i, c := range v {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
	}
	return dst
}

// Binary numeric's sign field.
const (
	numericNeg  = 0x4000
	numericNaN  = 0xc000
	numericPInf = 0xd000
	numericNInf = 0xf000
)

// appendNumeric prints a binary numeric (ndigits, weight, sign, dscale,
// then ndigits base-10000 digits) as numeric_out's get_str_from_var does:
// the digits up to the weight with the first one's leading zeros dropped
// (0 when the weight is negative), then dscale digits after the point.
func appendNumeric(dst, v []byte) ([]byte, error) {
	if len(v) < 8 {
		return dst, fmt.Errorf("binary numeric of %d bytes", len(v))
	}
	ndigits := int(int16(binary.BigEndian.Uint16(v)))
	weight := int(int16(binary.BigEndian.Uint16(v[2:])))
	sign := binary.BigEndian.Uint16(v[4:])
	dscale := int(int16(binary.BigEndian.Uint16(v[6:])))
	if ndigits < 0 || dscale < 0 || len(v) != 8+2*ndigits {
		return dst, fmt.Errorf("binary numeric of %d bytes with %d digits", len(v), ndigits)
	}
	switch sign {
	case numericNaN:
		return append(dst, "NaN"...), nil
	case numericPInf:
		return append(dst, "Infinity"...), nil
	case numericNInf:
		return append(dst, "-Infinity"...), nil
	case numericNeg:
		dst = append(dst, '-')
	case 0:
	default:
		return dst, fmt.Errorf("binary numeric with sign %#x", sign)
	}
	digit := func(d int) int {
		if d < 0 || d >= ndigits {
			return 0
		}
		return int(binary.BigEndian.Uint16(v[8+2*d:]))
	}
	d := 0
	if weight < 0 {
		d = weight + 1
		dst = append(dst, '0')
	} else {
		dst = appendUint(dst, uint64(digit(0)))
		for d = 1; d <= weight; d++ {
			dst = append4(dst, digit(d))
		}
	}
	if dscale > 0 {
		dst = append(dst, '.')
		end := len(dst) + dscale
		for i := 0; i < dscale; i, d = i+4, d+1 {
			dst = append4(dst, digit(d))
		}
		dst = dst[:end]
	}
	return dst, nil
}

// append4 appends a base-10000 digit as four decimal ones.
func append4(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}

// pgEpochDays is 2000-01-01 in days since 1970-01-01.
const pgEpochDays = pgEpoch / 86400

// appendYMD prints a date of the proleptic Gregorian calendar, days since
// 2000-01-01, as EncodeDateOnly does in ISO: the year zero-padded to four
// digits, counted BC (1 - year) when not positive; it returns whether the
// year is BC, whose " BC" goes at the very end.
func appendYMD(dst []byte, days int64) ([]byte, bool) {
	y, m, d := time.Unix((pgEpochDays+days)*86400, 0).UTC().Date()
	bc := y <= 0
	if bc {
		y = 1 - y
	}
	dst = appendPadded(dst, int64(y), 4)
	dst = append(dst, '-', byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
	return dst, bc
}

// appendPadded appends n zero-padded to width digits.
func appendPadded(dst []byte, n int64, width int) []byte {
	for p := int64(10); width > 1; p, width = p*10, width-1 {
		if n < p {
			dst = append(dst, '0')
		}
	}
	return appendUint(dst, uint64(n))
}

// day is the date part of a column's last value, kept because a column of
// timestamps often holds many of one day.
type day struct {
	days  int64
	valid bool
	bc    bool
	n     uint8
	text  [16]byte
}

// appendDay appends the date of days since 2000-01-01 (appendYMD) and
// returns whether its year is BC.
func (d *day) appendDay(dst []byte, days int64) ([]byte, bool) {
	if !d.valid || d.days != days {
		b, bc := appendYMD(d.text[:0], days)
		d.days, d.valid, d.bc, d.n = days, true, bc, uint8(len(b))
	}
	return append(dst, d.text[:d.n]...), d.bc
}

// appendDate prints date_out in ISO: days since 2000-01-01, ±infinity at
// the int32 extremes.
func (c *csvColumn) appendDate(dst, v []byte) []byte {
	switch d := int32(binary.BigEndian.Uint32(v)); d {
	case math.MaxInt32:
		return append(dst, "infinity"...)
	case math.MinInt32:
		return append(dst, "-infinity"...)
	default:
		dst, bc := c.last.appendDay(dst, int64(d))
		if bc {
			dst = append(dst, " BC"...)
		}
		return dst
	}
}

const usPerDay = 86_400_000_000

// appendTimestamp prints timestamp_out (or timestamptz_out in a zone of
// offset 0, +00) in ISO: microseconds since 2000-01-01, the date, the
// time with its fraction's trailing zeros dropped, then " BC"; ±infinity
// at the int64 extremes.
func (c *csvColumn) appendTimestamp(dst, v []byte, utc bool) []byte {
	us := int64(binary.BigEndian.Uint64(v))
	switch us {
	case math.MaxInt64:
		return append(dst, "infinity"...)
	case math.MinInt64:
		return append(dst, "-infinity"...)
	}
	// Days and the time of day, floored: a time before 2000 is still a
	// positive time of an earlier day.
	days, tod := us/usPerDay, us%usPerDay
	if tod < 0 {
		days, tod = days-1, tod+usPerDay
	}
	dst, bc := c.last.appendDay(dst, days)
	dst = appendClock(append(dst, ' '), tod)
	if utc {
		dst = append(dst, "+00"...)
	}
	if bc {
		dst = append(dst, " BC"...)
	}
	return dst
}

// appendClock prints a time of day in microseconds as HH:MM:SS, then the
// fraction without its trailing zeros (AppendSeconds without fillzeros).
func appendClock(dst []byte, us int64) []byte {
	secs, frac := us/1_000_000, us%1_000_000
	h, m, s := secs/3600, secs/60%60, secs%60
	if h < 100 {
		dst = append(dst, digitPairs[2*h], digitPairs[2*h+1])
	} else {
		dst = appendUint(dst, uint64(h))
	}
	dst = append(dst, ':', digitPairs[2*m], digitPairs[2*m+1], ':', digitPairs[2*s], digitPairs[2*s+1])
	if frac == 0 {
		return dst
	}
	dst = append(dst, '.')
	digits := 6
	for frac%10 == 0 {
		frac, digits = frac/10, digits-1
	}
	return appendPadded(dst, frac, digits)
}
