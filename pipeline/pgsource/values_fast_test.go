package pgsource

import (
	"bytes"
	"math/big"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// The hand parsers of values.go must agree with the parsers they stand in
// for (strconv, big.Rat, pgtype) on every input they accept: each test
// below checks an input both ways, and the fuzz targets search for one
// they disagree on.

func checkParseInt(t *testing.T, in string) {
	for _, bits := range []uint{32, 64} {
		got, ok := parseInt([]byte(in), bits)
		want, err := strconv.ParseInt(in, 10, int(bits))
		if ok && (err != nil || got != want) {
			t.Errorf("parseInt(%q, %d) = %d; strconv: %d, %v", in, bits, got, want, err)
		}
	}
}

func checkParseDecimal(t *testing.T, in string) {
	got, ok := parseDecimal([]byte(in))
	want, wok := new(big.Rat).SetString(in)
	if ok && (!wok || got.Cmp(want) != 0) {
		t.Errorf("parseDecimal(%q) = %v; big.Rat: %v, %t", in, got, want, wok)
	}
}

func checkParseISO(t *testing.T, in string) {
	got, ok := parseISO([]byte(in))
	if !ok {
		return
	}
	var want time.Time
	if len(in) == 10 {
		var d pgtype.Date
		if err := pgtype.NewMap().Scan(pgtype.DateOID, pgtype.TextFormatCode, []byte(in), &d); err != nil {
			t.Errorf("parseISO(%q) = %v; pgtype: %v", in, got, err)
			return
		}
		want = d.Time
	} else {
		var ts pgtype.Timestamp
		if err := pgtype.NewMap().Scan(pgtype.TimestampOID, pgtype.TextFormatCode, []byte(in), &ts); err != nil {
			t.Errorf("parseISO(%q) = %v; pgtype: %v", in, got, err)
			return
		}
		want = ts.Time
	}
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("parseISO(%q) = %v; pgtype: %v", in, got, want)
	}
}

func checkParseHexBytea(t *testing.T, in string) {
	got, ok := parseHexBytea([]byte(in))
	if !ok {
		return
	}
	var want []byte
	if err := pgtype.NewMap().Scan(pgtype.ByteaOID, pgtype.TextFormatCode, []byte(in), &want); err != nil || !bytes.Equal(got, want) {
		t.Errorf("parseHexBytea(%q) = %x; pgtype: %x, %v", in, got, want, err)
	}
}

var (
	intSeeds = []string{"0", "-0", "7", "-2147483648", "2147483647", "2147483648", "-2147483649",
		"9223372036854775807", "-9223372036854775808", "999999999999999999", "+5", "", "-", "1e3", " 1", "0x1f"}
	decimalSeeds = []string{"0", "0.00", "-0.50", "234.56", "-12.34", "999999999999999.999", "1234567890123456789.5",
		"NaN", "Infinity", "1.", ".5", "-.5", "1e5", "1.2.3", "--1", "", "12345678.90"}
	isoSeeds = []string{"2026-01-02", "2026-01-02 10:17:36", "1969-12-31 23:59:59.999999", "2000-02-29 00:00:00.5",
		"1900-02-29", "2023-02-29", "0044-03-15 BC", "infinity", "-infinity", "12345-01-01", "2026-13-01",
		"2026-01-02 24:00:00", "2026-01-02 10:17:36.", "2026-01-02 10:17:36.1234567", "2026-01-02T10:17:36",
		"2026-1-02", "0000-01-01", "9999-12-31 23:59:59.000001"}
	byteaSeeds = []string{`\x`, `\x00ff`, `\xDEADbeef`, `\x0`, `\xzz`, `abc`, `\\x00`}
)

func TestParseIntAgreesWithStrconv(t *testing.T) {
	for _, in := range intSeeds {
		checkParseInt(t, in)
	}
	// The forms a stream carries are taken by the hand parser.
	for _, in := range []string{"0", "-2147483648", "123456"} {
		if _, ok := parseInt([]byte(in), 32); !ok {
			t.Errorf("parseInt(%q) left to strconv", in)
		}
	}
}

func TestParseDecimalAgreesWithRat(t *testing.T) {
	for _, in := range decimalSeeds {
		checkParseDecimal(t, in)
	}
	for _, in := range []string{"0.00", "-12.34", "999999999999999.999"} {
		if _, ok := parseDecimal([]byte(in)); !ok {
			t.Errorf("parseDecimal(%q) left to big.Rat", in)
		}
	}
}

func TestParseISOAgreesWithPgtype(t *testing.T) {
	for _, in := range isoSeeds {
		checkParseISO(t, in)
	}
	for _, in := range []string{"2026-01-02", "2000-02-29 00:00:00.5", "9999-12-31 23:59:59.000001"} {
		if _, ok := parseISO([]byte(in)); !ok {
			t.Errorf("parseISO(%q) left to pgtype", in)
		}
	}
	for _, in := range []string{"2023-02-29", "0044-03-15 BC", "2026-01-02 24:00:00", "0000-01-01"} {
		if _, ok := parseISO([]byte(in)); ok {
			t.Errorf("parseISO(%q) took a form it must leave to pgtype", in)
		}
	}
}

func TestParseHexByteaAgreesWithPgtype(t *testing.T) {
	for _, in := range byteaSeeds {
		checkParseHexBytea(t, in)
	}
}

func FuzzParseInt(f *testing.F) {
	for _, s := range intSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) { checkParseInt(t, in) })
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range decimalSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) { checkParseDecimal(t, in) })
}

func FuzzParseISO(f *testing.F) {
	for _, s := range isoSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) { checkParseISO(t, in) })
}

func FuzzParseHexBytea(f *testing.F) {
	for _, s := range byteaSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) { checkParseHexBytea(t, in) })
}
