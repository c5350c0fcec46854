package binlog

import (
	"encoding/hex"
	"math/big"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/mysqlproto"
	"github.com/s3bridge/s3bridge/pipeline"
)

// TestDecimal decodes packed decimals: the examples of MySQL's
// strings/decimal.c (decimal2bin) and the group edges.
func TestDecimal(t *testing.T) {
	tests := []struct {
		hex        string
		prec, frac int
		want       string
	}{
		{"810DFB38D204D2", 14, 4, "1234567890.1234"},
		{"7EF204C72DFB2D", 14, 4, "-1234567890.1234"},
		{"80", 1, 0, "0"},
		{"7F", 1, 0, "0"}, // negative zero
		{"8000000000", 10, 0, "0"},
		{"BB9AC9FF", 9, 0, "999999999"},
		{"803B9AC9FF", 10, 0, "999999999"},
		{"8000000001", 10, 9, "0.000000001"},
		{"7FFFFFFFFE", 10, 9, "-0.000000001"},
	}
	for _, tt := range tests {
		b, _ := hex.DecodeString(tt.hex)
		v, n, err := decodeDecimal(b, tt.prec, tt.frac, nil)
		if err != nil || n != len(b) {
			t.Errorf("%s as decimal(%d,%d): %d bytes, %v", tt.hex, tt.prec, tt.frac, n, err)
			continue
		}
		want, _ := new(big.Rat).SetString(tt.want)
		if v.(*big.Rat).Cmp(want) != 0 {
			t.Errorf("%s as decimal(%d,%d): %s, want %s", tt.hex, tt.prec, tt.frac, v.(*big.Rat).FloatString(tt.frac), tt.want)
		}
	}
	if _, _, err := decodeDecimal([]byte{0x81, 0x0d}, 14, 4, nil); err == nil {
		t.Error("a truncated decimal decodes")
	}
}

// TestZeroTemporal: the zero date and timestamp, which no calendar has,
// are nil; YEAR 0000 is 0.
func TestZeroTemporal(t *testing.T) {
	tests := []struct {
		typ  byte
		meta uint16
		hex  string
		want any
	}{
		{mysqlproto.TypeDate, 0, "000000", nil},
		{mysqlproto.TypeDate, 0, "0f1000", nil}, // 2048-00-15
		{mysqlproto.TypeDate, 0, "21f20f", time.Date(2041, 1, 1, 0, 0, 0, 0, time.UTC)},
		{typeDatetime2, 0, "8000000000", nil},
		{typeTimestamp2, 0, "00000000", nil},
		{typeTimestamp2, 3, "000000010064", time.Unix(1, 10000000).UTC()},
		{mysqlproto.TypeYear, 0, "00", int32(0)},
		{mysqlproto.TypeYear, 0, "ff", int32(2155)},
		{typeTime2, 0, "800000", time.Duration(0)},
		{typeTime2, 1, "7fffffce", -500 * time.Millisecond},
	}
	for _, tt := range tests {
		c := column{typ: tt.typ, real: tt.typ, meta: tt.meta}
		b, _ := hex.DecodeString(tt.hex)
		v, n, err := c.decodeValue(b)
		if err != nil || n != len(b) || v != tt.want {
			t.Errorf("type %d %s: %#v (%d bytes, %v), want %#v", tt.typ, tt.hex, v, n, err, tt.want)
		}
	}
}

// TestEnumSet: ENUM's error value (index 0) is the empty string, a SET
// bit past its labels an error.
func TestEnumSet(t *testing.T) {
	enum := column{typ: mysqlproto.TypeString, real: mysqlproto.TypeEnum, meta: 1, labels: []string{"a", "b"},
		ptype: pipeline.Type{Kind: pipeline.KindEnum}}
	for b, want := range map[byte]any{0: "", 1: "a", 2: "b"} {
		if v, _, err := enum.decodeValue([]byte{b}); err != nil || v != want {
			t.Errorf("enum %d: %#v, %v", b, v, err)
		}
	}
	if _, _, err := enum.decodeValue([]byte{3}); err == nil {
		t.Error("enum index past the labels decodes")
	}
	set := column{typ: mysqlproto.TypeString, real: mysqlproto.TypeSet, meta: 1, labels: []string{"x", "y", "z"}}
	if v, _, err := set.decodeValue([]byte{5}); err != nil || v != "x,z" {
		t.Errorf("set 5: %#v, %v", v, err)
	}
	if _, _, err := set.decodeValue([]byte{8}); err == nil {
		t.Error("set bit past the labels decodes")
	}
}

// TestStringMeta: a CHAR of more than 255 bytes keeps its length's high
// bits in the type byte.
func TestStringMeta(t *testing.T) {
	for _, tt := range []struct {
		meta   uint16
		real   byte
		length uint16
	}{
		{0xfe0a, mysqlproto.TypeString, 10},
		{0xf701, mysqlproto.TypeEnum, 1},
		{0xf808, mysqlproto.TypeSet, 8},
		{0xcefc, mysqlproto.TypeString, 1020}, // CHAR(255) in utf8mb4
	} {
		real, length := stringMeta(tt.meta)
		if real != tt.real || length != tt.length {
			t.Errorf("%#x: type %#x length %d, want %#x %d", tt.meta, real, length, tt.real, tt.length)
		}
	}
}

// TestCharsets converts the non-UTF-8 charsets; latin1 is Windows-1252
// with its undefined bytes kept as C1 controls.
func TestCharsets(t *testing.T) {
	tests := []struct {
		charset string
		in      string
		want    string
	}{
		{"latin1", "caf\xe9 \x80\x81", "café €\u0081"},
		{"utf8mb4", "ok \xff", "ok \uFFFD"},
		{"cp1251", "\xe6", "ж"},
		{"utf16", "\x03\xa9", "Ω"},
		{"sjis", "\x93\xfa", "日"},
	}
	for _, tt := range tests {
		conv, ok := textOf(tt.charset)
		if !ok || conv([]byte(tt.in)) != tt.want {
			t.Errorf("%s %q: %v", tt.charset, tt.in, ok)
		}
	}
	if _, ok := textOf("binary"); ok {
		t.Error("binary is text")
	}
}
