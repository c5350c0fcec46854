package convert

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/s3bridge/s3bridge/tuple"
)

// dayMicros is 24:00:00, the largest time of day PostgreSQL (and Parquet
// readers such as DuckDB) accept.
const dayMicros = 86_400_000_000

// TimeOfDay reads a time of day as microseconds since midnight: an
// integer of those, text hh:mm:ss[.ffffff] (PostgreSQL's and MariaDB's
// form), or a time's clock. MariaDB's TIME is a duration: a negative one
// or one past 24:00:00 is refused, as no TIME column holds it.
func TimeOfDay(v tuple.Value) (int64, error) {
	var us int64
	switch v.Kind {
	case tuple.Int:
		us = v.Int
	case tuple.Time:
		h, m, s := v.Time.Clock()
		return int64(h*3600+m*60+s)*1_000_000 + int64(v.Time.Nanosecond()/1000), nil
	case tuple.Text:
		var ok bool
		if us, ok = parseClock(v.Bytes); !ok {
			return 0, fmt.Errorf("%s is not a time of day (hh:mm:ss)", Describe(v))
		}
	default:
		return 0, fmt.Errorf("%s is not a time of day", Describe(v))
	}
	if us < 0 || us > dayMicros {
		return 0, fmt.Errorf("%s is not a time of day between 00:00:00 and 24:00:00", Describe(v))
	}
	return us, nil
}

// parseClock reads [-]h+:mm:ss[.f…] with up to 6 fractional digits (more
// are truncated); the hours may exceed 23 and the time be negative, as
// MariaDB's may, which the caller refuses.
func parseClock(b []byte) (int64, bool) {
	if len(b) > 0 && b[0] == '-' {
		us, ok := parseClock(b[1:])
		return -us, ok
	}
	num := func(s []byte) (int64, bool) {
		if len(s) == 0 || len(s) > 9 {
			return 0, false
		}
		n, err := strconv.ParseUint(string(s), 10, 32)
		return int64(n), err == nil
	}
	var parts [3][]byte
	rest := b
	for i := range 2 {
		j := bytes.IndexByte(rest, ':')
		if j < 0 {
			return 0, false
		}
		parts[i], rest = rest[:j], rest[j+1:]
	}
	frac := []byte(nil)
	if j := bytes.IndexByte(rest, '.'); j >= 0 {
		rest, frac = rest[:j], rest[j+1:]
		if len(frac) == 0 {
			return 0, false
		}
	}
	parts[2] = rest
	h, ok1 := num(parts[0])
	m, ok2 := num(parts[1])
	s, ok3 := num(parts[2])
	if !ok1 || !ok2 || !ok3 || len(parts[1]) != 2 || len(parts[2]) != 2 || m > 59 || s > 59 {
		return 0, false
	}
	us := ((h*60+m)*60 + s) * 1_000_000
	scale := int64(100_000)
	for _, c := range frac {
		if c < '0' || c > '9' {
			return 0, false
		}
		us += int64(c-'0') * scale
		scale /= 10
	}
	return us, true
}

// AppendClock writes microseconds since midnight as PostgreSQL prints a
// time: hh:mm:ss, then a fraction without trailing zeros if there is one.
func AppendClock(dst []byte, us int64) []byte {
	s := us / 1_000_000
	dst = append(dst, byte('0'+s/36000), byte('0'+s/3600%10), ':',
		byte('0'+s/600%6), byte('0'+s/60%10), ':', byte('0'+s%60/10), byte('0'+s%10))
	if f := us % 1_000_000; f != 0 {
		digits := []byte{'.', '0', '0', '0', '0', '0', '0'}
		for i := 6; i > 0; i-- {
			digits[i] = byte('0' + f%10)
			f /= 10
		}
		n := len(digits)
		for digits[n-1] == '0' {
			n--
		}
		dst = append(dst, digits[:n]...)
	}
	return dst
}

// UUID reads a UUID into dst: its 16 bytes, or its text in the canonical
// 8-4-4-4-12 form (hyphens optional, either case).
func UUID(dst []byte, v tuple.Value) error {
	switch {
	case v.Kind == tuple.Bytes && len(v.Bytes) == 16:
		copy(dst, v.Bytes)
		return nil
	case v.Kind == tuple.Text:
		var digits [32]byte
		n := 0
		for _, c := range v.Bytes {
			if c == '-' {
				continue
			}
			if n == len(digits) {
				n++
				break
			}
			digits[n] = c
			n++
		}
		if n == len(digits) {
			if _, err := hex.Decode(dst[:16], digits[:]); err == nil {
				return nil
			}
		}
	}
	return fmt.Errorf("%s is not a UUID", Describe(v))
}

// AppendUUID writes 16 bytes in the canonical 8-4-4-4-12 form.
func AppendUUID(dst, b []byte) []byte {
	for i := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = hex.AppendEncode(dst, b[i:i+1])
	}
	return dst
}
