package binlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/s3bridge/s3bridge/mysqlproto"
	"github.com/s3bridge/s3bridge/pipeline"
)

var errValue = errors.New("value truncated")

// decodeValue reads the value of column c at the start of b (a row
// event's packed form) and returns it, as the column's pipeline.Kind
// wants it, and its length in bytes.
func (c *column) decodeValue(b []byte) (any, int, error) { return c.value(b, nil) }

// value is decodeValue with the value carved from a (nil: allocated).
func (c *column) value(b []byte, a *arena) (any, int, error) {
	switch c.typ {
	case mysqlproto.TypeTiny, mysqlproto.TypeShort, mysqlproto.TypeInt24, mysqlproto.TypeLong, mysqlproto.TypeLongLong,
		mysqlproto.TypeYear, mysqlproto.TypeFloat, mysqlproto.TypeDouble:
		return c.decodeNumber(b, a)
	case mysqlproto.TypeNewDecimal:
		return decodeDecimal(b, int(c.meta>>8), int(c.meta&0xff), a)
	case mysqlproto.TypeDate, mysqlproto.TypeNewDate, typeTime2, typeDatetime2, typeTimestamp2,
		mysqlproto.TypeTime, mysqlproto.TypeDatetime, mysqlproto.TypeTimestamp:
		return c.decodeTemporal(b, a)
	case mysqlproto.TypeVarchar, mysqlproto.TypeVarString:
		if c.meta > 255 {
			return c.lengthPrefixed(b, 2, a)
		}
		return c.lengthPrefixed(b, 1, a)
	case mysqlproto.TypeString:
		return c.decodeString(b, a)
	case mysqlproto.TypeBlob, mysqlproto.TypeTinyBlob, mysqlproto.TypeMediumBlob, mysqlproto.TypeLongBlob, mysqlproto.TypeJSON:
		return c.lengthPrefixed(b, int(c.meta), a)
	case mysqlproto.TypeGeometry:
		v, n, err := c.lengthPrefixed(b, int(c.meta), a)
		if err != nil {
			return nil, 0, err
		}
		// MariaDB keeps a geometry as a 4-byte SRID and its WKB.
		g := v.([]byte)
		if len(g) < 4 {
			return nil, 0, fmt.Errorf("geometry of %d bytes: no SRID", len(g))
		}
		return g[4:], n, nil
	case mysqlproto.TypeBit:
		n := int(c.meta>>8) + min(1, int(c.meta&0xff))
		if len(b) < n {
			return nil, 0, errValue
		}
		if c.ptype.Kind == pipeline.KindBool {
			return b[0] != 0, n, nil
		}
		return a.copy(b[:n]), n, nil
	case mysqlproto.TypeNull:
		return nil, 0, nil
	}
	return nil, 0, fmt.Errorf("binlog column type %d is not supported", c.typ)
}

// numberSize is the size of the integer and floating-point types.
func numberSize(typ byte) int {
	switch typ {
	case mysqlproto.TypeShort:
		return 2
	case mysqlproto.TypeInt24:
		return 3
	case mysqlproto.TypeLong, mysqlproto.TypeFloat:
		return 4
	case mysqlproto.TypeLongLong, mysqlproto.TypeDouble:
		return 8
	}
	return 1 // TINYINT, YEAR
}

// decodeNumber reads the integers (little-endian, signed or not), YEAR
// (years since 1900, 0 for 0000) and FLOAT and DOUBLE.
func (c *column) decodeNumber(b []byte, a *arena) (any, int, error) {
	// The common types first, read whole: the loop below costs more than
	// the rest of their decoding.
	switch c.typ {
	case mysqlproto.TypeLong:
		if len(b) < 4 {
			return nil, 0, errValue
		}
		u := binary.LittleEndian.Uint32(b)
		if c.unsigned {
			return a.int64(int64(u)), 4, nil
		}
		return a.int32(int32(u)), 4, nil
	case mysqlproto.TypeLongLong:
		if len(b) < 8 || c.unsigned {
			break
		}
		return a.int64(int64(binary.LittleEndian.Uint64(b))), 8, nil
	case mysqlproto.TypeDouble:
		if len(b) < 8 {
			return nil, 0, errValue
		}
		return a.float64(math.Float64frombits(binary.LittleEndian.Uint64(b))), 8, nil
	}
	n := numberSize(c.typ)
	if len(b) < n {
		return nil, 0, errValue
	}
	var u uint64
	for i := range n {
		u |= uint64(b[i]) << (8 * i)
	}
	switch c.typ {
	case mysqlproto.TypeFloat:
		return a.float32(math.Float32frombits(uint32(u))), n, nil
	case mysqlproto.TypeDouble:
		return a.float64(math.Float64frombits(u)), n, nil
	case mysqlproto.TypeYear:
		if u == 0 {
			return int32(0), n, nil
		}
		return a.int32(int32(u) + 1900), n, nil
	case mysqlproto.TypeLongLong:
		if c.unsigned {
			if r, ok := a.decimal(u, false, 0); ok {
				return r, n, nil
			}
			return new(big.Rat).SetInt(new(big.Int).SetUint64(u)), n, nil
		}
		return a.int64(int64(u)), n, nil
	case mysqlproto.TypeLong:
		if c.unsigned {
			return a.int64(int64(u)), n, nil
		}
	}
	if c.unsigned {
		return a.int32(int32(u)), n, nil
	}
	// Sign-extend from n bytes.
	shift := 64 - 8*n
	return a.int32(int32(int64(u<<shift) >> shift)), n, nil
}

// decodeTemporal reads the date and time types.
func (c *column) decodeTemporal(b []byte, a *arena) (any, int, error) {
	var t time.Time
	var ok bool
	var n int
	var err error
	switch c.typ {
	case typeTime2, mysqlproto.TypeTime:
		var d time.Duration
		if c.typ == typeTime2 {
			d, n, err = decodeTime2(b, int(c.meta))
		} else {
			d, n, err = decodeTime(b)
		}
		if err != nil {
			return nil, 0, err
		}
		return a.duration(d), n, nil
	case typeDatetime2:
		t, ok, n, err = decodeDatetime2(b, int(c.meta))
	case typeTimestamp2:
		t, ok, n, err = decodeTimestamp2(b, int(c.meta))
	case mysqlproto.TypeDatetime:
		t, ok, n, err = decodeDatetime(b)
	case mysqlproto.TypeTimestamp:
		if len(b) < 4 {
			return nil, 0, errValue
		}
		t, ok = timestamp(int64(binary.LittleEndian.Uint32(b)), 0)
		n = 4
	default:
		// DATE: day (5 bits), month (4), year, little-endian in 3 bytes.
		if len(b) < 3 {
			return nil, 0, errValue
		}
		v := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
		t, ok = date(int(v>>9), int(v>>5&15), int(v&31))
		n = 3
	}
	switch {
	case err != nil:
		return nil, 0, err
	case !ok:
		return nil, n, nil // no calendar has it
	}
	return a.time(t), n, nil
}

// lengthPrefixed reads a value preceded by its length in size bytes.
func (c *column) lengthPrefixed(b []byte, size int, a *arena) (any, int, error) {
	if size < 1 || size > 4 || len(b) < size {
		return nil, 0, errValue
	}
	var n uint64
	for i := range size {
		n |= uint64(b[i]) << (8 * i)
	}
	if n > uint64(len(b)-size) {
		return nil, 0, errValue
	}
	return c.bytes(b[size:size+int(n)], a), size + int(n), nil
}

// bytes is a string value: text in its charset made UTF-8, or a copy of
// the bytes of a binary string (the event buffer is reused).
func (c *column) bytes(b []byte, a *arena) any {
	switch {
	case c.utf8:
		if utf8.Valid(b) {
			return a.string(b)
		}
		return utf8Text(b)
	case c.text != nil:
		return c.text(b)
	}
	return a.copy(b)
}

// decodeString reads a STRING column: CHAR and BINARY (a length byte or
// two, then the bytes), ENUM (the label's number) or SET (a bitmap of
// labels).
func (c *column) decodeString(b []byte, a *arena) (any, int, error) {
	switch c.real {
	case mysqlproto.TypeEnum:
		n := int(c.meta)
		if n < 1 || n > 2 || len(b) < n {
			return nil, 0, errValue
		}
		i := int(b[0])
		if n == 2 {
			i = int(binary.LittleEndian.Uint16(b))
		}
		switch {
		case i == 0:
			return "", n, nil // the error value an invalid insert stores
		case i > len(c.labels):
			return nil, 0, fmt.Errorf("enum value %d of %d labels", i, len(c.labels))
		}
		return c.labels[i-1], n, nil
	case mysqlproto.TypeSet:
		n := int(c.meta)
		if n < 1 || n > 8 || len(b) < n {
			return nil, 0, errValue
		}
		var bits uint64
		for i := range n {
			bits |= uint64(b[i]) << (8 * i)
		}
		var sb strings.Builder
		for i, l := range c.labels {
			if bits&(1<<i) != 0 {
				if sb.Len() > 0 {
					sb.WriteByte(',')
				}
				sb.WriteString(l)
			}
		}
		if i := len(c.labels); i < 64 && bits>>i != 0 {
			return nil, 0, fmt.Errorf("set value %#x beyond its %d labels", bits, len(c.labels))
		}
		return sb.String(), n, nil
	}
	size := 1
	if c.meta > 255 {
		size = 2
	}
	v, n, err := c.lengthPrefixed(b, size, a)
	if bin, ok := v.([]byte); ok && len(bin) < int(c.meta) {
		// The log drops a BINARY's trailing zero bytes, which the
		// column's value has (it is padded to its length with them).
		v = append(bin[:len(bin):len(bin)], make([]byte, int(c.meta)-len(bin))...)
	}
	return v, n, err
}

// decodeDecimal reads a DECIMAL(precision, scale) in MySQL's packed form:
// base-10⁹ digit groups, big-endian, the integer part's leftmost group
// and the fraction's rightmost shortened to the digits they have; the
// first bit set for a positive number and every bit inverted for a
// negative one.
func decodeDecimal(b []byte, precision, scale int, a *arena) (any, int, error) {
	intg := precision - scale
	if precision < 1 || precision > 65 || scale < 0 || intg < 0 {
		return nil, 0, fmt.Errorf("decimal(%d,%d): bad precision or scale", precision, scale)
	}
	n := intg/9*4 + digitBytes[intg%9] + scale/9*4 + digitBytes[scale%9]
	if len(b) < n {
		return nil, 0, errValue
	}
	var mask byte // XORed into every byte: 0xff for a negative number
	if b[0]&0x80 == 0 {
		mask = 0xff
	}
	// The digit groups' widths, most significant first: at most 9 (65
	// digits), so the array stays on the stack.
	var widths [16]int
	w := 0
	if intg%9 > 0 {
		widths[w], w = intg%9, w+1
	}
	for range intg/9 + scale/9 {
		widths[w], w = 9, w+1
	}
	if scale%9 > 0 {
		widths[w], w = scale%9, w+1
	}
	// The unscaled value: in a uint64 up to 18 digits, else a big.Int.
	var small uint64
	var num *big.Int
	if precision > 18 {
		num = new(big.Int)
	}
	p := 0
	for _, digits := range widths[:w] {
		k := digitBytes[digits]
		var v uint32
		for i := range k {
			x := b[p+i] ^ mask
			if p+i == 0 {
				x ^= 0x80
			}
			v = v<<8 | uint32(x)
		}
		p += k
		if uint64(v) >= pow10[digits] {
			return nil, 0, fmt.Errorf("decimal(%d,%d): digit group %d of %d digits", precision, scale, v, digits)
		}
		if num == nil {
			small = small*pow10[digits] + uint64(v)
		} else {
			num.Mul(num, new(big.Int).SetUint64(pow10[digits]))
			num.Add(num, new(big.Int).SetUint64(uint64(v)))
		}
	}
	if num == nil {
		if r, ok := a.decimal(small, mask != 0, scale); ok {
			return r, n, nil
		}
		num = new(big.Int).SetUint64(small)
	}
	if mask != 0 {
		num.Neg(num)
	}
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	return new(big.Rat).SetFrac(num, den), n, nil
}

// digitBytes is the size of a digit group of as many digits as its index
// (4 for a whole group of 9).
var digitBytes = [10]int{0, 1, 1, 2, 2, 3, 3, 4, 4, 4}

var pow10 = [...]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000}

// fraction reads the fractional seconds of a TIME2, DATETIME2 or
// TIMESTAMP2 of fsp digits: (fsp+1)/2 big-endian bytes counting units of
// 10^(6-2*bytes) microseconds.
func fraction(b []byte, fsp int) (us int64, n int, err error) {
	n = (fsp + 1) / 2
	if fsp < 0 || fsp > 6 || len(b) < n {
		return 0, 0, errValue
	}
	var v int64
	for i := range n {
		v = v<<8 | int64(b[i])
	}
	switch n {
	case 1:
		return v * 10000, n, nil
	case 2:
		return v * 100, n, nil
	}
	return v, n, nil
}

func beUint(b []byte) int64 {
	var v int64
	for _, x := range b {
		v = v<<8 | int64(x)
	}
	return v
}

// decodeTime2 reads a TIME2: a 3-byte offset-binary count of
// hours<<12|minutes<<6|seconds, then the fraction; a negative time's
// fraction, non-zero, borrows one second.
func decodeTime2(b []byte, fsp int) (time.Duration, int, error) {
	if len(b) < 3 {
		return 0, 0, errValue
	}
	n := 3 + (fsp+1)/2
	if fsp < 0 || fsp > 6 || len(b) < n {
		return 0, 0, errValue
	}
	// The whole value, integer part and fraction, is one big-endian
	// offset-binary number with the fraction in its low bytes.
	fb := n - 3
	v := beUint(b[:n]) - int64(0x800000)<<(8*fb)
	neg := v < 0
	if neg {
		v = -v
	}
	frac := v & (1<<(8*fb) - 1)
	hms := v >> (8 * fb)
	switch fb {
	case 1:
		frac *= 10000
	case 2:
		frac *= 100
	}
	d := time.Duration(hms>>12&0x3ff)*time.Hour + time.Duration(hms>>6&0x3f)*time.Minute +
		time.Duration(hms&0x3f)*time.Second + time.Duration(frac)*time.Microsecond
	if neg {
		d = -d
	}
	return d, n, nil
}

// decodeDatetime2 reads a DATETIME2: 5 big-endian bytes, offset by
// 2³⁹, of year*13+month (17 bits), day (5), hour (5), minute (6) and
// second (6), then the fraction. ok is false for a date no calendar has.
func decodeDatetime2(b []byte, fsp int) (t time.Time, ok bool, n int, err error) {
	if len(b) < 5 {
		return t, false, 0, errValue
	}
	us, fn, err := fraction(b[5:], fsp)
	if err != nil {
		return t, false, 0, err
	}
	v := beUint(b[:5]) - 0x8000000000
	ymd, hms := v>>17, v&(1<<17-1)
	ym := ymd >> 5
	t, ok = dateTime(int(ym/13), int(ym%13), int(ymd&31), hms>>12*3600+(hms>>6&63)*60+hms&63, us)
	return t, ok, 5 + fn, nil
}

// decodeTimestamp2 reads a TIMESTAMP2: big-endian seconds since the
// epoch, then the fraction.
func decodeTimestamp2(b []byte, fsp int) (t time.Time, ok bool, n int, err error) {
	if len(b) < 4 {
		return t, false, 0, errValue
	}
	us, fn, err := fraction(b[4:], fsp)
	if err != nil {
		return t, false, 0, err
	}
	t, ok = timestamp(beUint(b[:4]), us)
	return t, ok, 4 + fn, nil
}

// timestamp is the instant sec.us after the epoch; 0 is MariaDB's zero
// timestamp ('0000-00-00 00:00:00'), which no instant stands for: !ok.
func timestamp(sec, us int64) (time.Time, bool) {
	if sec == 0 && us == 0 {
		return time.Time{}, false
	}
	return time.Unix(sec, us*1000).UTC(), true
}

// date is the day y-m-d at 00:00 UTC; ok is false for a date no calendar
// has (the zero date '0000-00-00', or a zero month or day, which MariaDB
// accepts outside strict modes).
func date(y, m, d int) (time.Time, bool) {
	return dateTime(y, m, d, 0, 0)
}

// dateTime is y-m-d plus sec seconds and us microseconds, UTC, as
// time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Add(…) makes it (a day past
// its month's end runs into the next, as there) but with the days
// counted in a few integer operations (Howard Hinnant's
// days_from_civil, the proleptic Gregorian calendar of package time)
// instead of time.Date's normalization.
func dateTime(y, m, d int, sec, us int64) (time.Time, bool) {
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := m - 3
	if m <= 2 {
		mp = m + 9
	}
	doy := (153*mp+2)/5 + d - 1
	days := int64(era)*146097 + int64(yoe*365+yoe/4-yoe/100+doy) - 719468
	return time.Unix(days*86400+sec, us*1000).UTC(), true
}

// decodeTime reads an old-format TIME (mysql56_temporal_format=OFF): a
// signed 3-byte little-endian HHMMSS in decimal digits.
func decodeTime(b []byte) (time.Duration, int, error) {
	if len(b) < 3 {
		return 0, 0, errValue
	}
	v := int32(b[0]) | int32(b[1])<<8 | int32(b[2])<<16
	if v&0x800000 != 0 {
		v -= 1 << 24
	}
	neg := v < 0
	if neg {
		v = -v
	}
	d := time.Duration(v/10000)*time.Hour + time.Duration(v/100%100)*time.Minute + time.Duration(v%100)*time.Second
	if neg {
		d = -d
	}
	return d, 3, nil
}

// decodeDatetime reads an old-format DATETIME: YYYYMMDDhhmmss as a
// little-endian 8-byte integer.
func decodeDatetime(b []byte) (t time.Time, ok bool, n int, err error) {
	if len(b) < 8 {
		return t, false, 0, errValue
	}
	v := binary.LittleEndian.Uint64(b)
	d, hms := v/1000000, v%1000000
	t, ok = dateTime(int(d/10000), int(d/100%100), int(d%100), int64(hms/10000*3600+hms/100%100*60+hms%100), 0)
	return t, ok, 8, nil
}
