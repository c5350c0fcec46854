package connector

import (
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/format"
)

func TestValueType(t *testing.T) {
	tests := []struct{ in, typ, format string }{
		{"", "", ""},
		{"12", TypeLong, ""},
		{"-12", TypeLong, ""},
		{"007", TypeString, ""},
		{"1.5", TypeDouble, ""},
		{"001.0", TypeString, ""},
		{"1e5", TypeString, ""},
		{"2.5e3", TypeDouble, ""},
		{"true", TypeBoolean, ""},
		{"OFF", TypeBoolean, ""},
		{`{"a":1}`, TypeJSON, ""},
		{"[1,2]", TypeJSON, ""},
		{"{not json", TypeString, ""},
		{"2024-01-02", TypeTimestamp, "%Y-%m-%d"},
		{"2024/01/02 03:04", TypeTimestamp, "%Y/%m/%d %H:%M"},
		{"2024-01-02 03:04:05", TypeTimestamp, "%Y-%m-%d %H:%M:%S"},
		{"2024-01-02T03:04:05.123Z", TypeTimestamp, "%Y-%m-%dT%H:%M:%S.%L%z"},
		{"2024-01-02T03:04:05.123456+09:00", TypeTimestamp, "%Y-%m-%dT%H:%M:%S.%N%:z"},
		{"2024-01-02 03:04:05 +0900", TypeTimestamp, "%Y-%m-%d %H:%M:%S %z"},
		{"2024-01-02 03:04:05 UTC", TypeTimestamp, "%Y-%m-%d %H:%M:%S UTC"},
		{"2024-13-02", TypeString, ""},
		{"01/02/2024", TypeTimestamp, "%m/%d/%Y"},
		{"13/02/2024", TypeTimestamp, "%d/%m/%Y"},
		{"Tue, 02 Jan 2024 03:04:05 +0000", TypeTimestamp, "%a, %d %b %Y %H:%M:%S %z"},
		{"02/Jan/2024:03:04:05 +0000", TypeTimestamp, "%d/%b/%Y:%H:%M:%S %z"},
		{"20240102", TypeLong, ""},
		{"hello", TypeString, ""},
	}
	for _, tt := range tests {
		typ, f := valueType(tt.in)
		if typ != tt.typ || f != tt.format {
			t.Errorf("valueType(%q) = %s %q, want %s %q", tt.in, typ, f, tt.typ, tt.format)
		}
	}
}

func TestColumnGuess(t *testing.T) {
	tests := []struct {
		values      []string
		typ, format string
	}{
		{[]string{"1", "2.5"}, TypeDouble, ""},
		{[]string{"1", "true"}, TypeString, ""},
		{[]string{"", ""}, TypeString, ""},
		{[]string{"01/02/2024", "13/02/2024"}, TypeTimestamp, "%d/%m/%Y"},
		{[]string{"2024-01-02", "2024-01-02 03:04:05"}, TypeString, ""},
		{[]string{"1", ""}, TypeLong, ""},
	}
	for _, tt := range tests {
		var g columnGuess
		for _, v := range tt.values {
			g.add(v)
		}
		if typ, f := g.column(); typ != tt.typ || f != tt.format {
			t.Errorf("%q: %s %q, want %s %q", tt.values, typ, f, tt.typ, tt.format)
		}
	}
}

// TestConvert: every guessed timestamp format parses its own value back,
// and typed values are written as each database reads them.
func TestConvert(t *testing.T) {
	for _, s := range []string{"2024-01-02T03:04:05.123Z", "2024-01-02 03:04:05 +0900", "13/02/2024", "Tue, 02 Jan 2024 03:04:05 +0000", "2024-01-02T03:04:05+09"} {
		_, f := valueType(s)
		p, err := newTimeParser(f, "")
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := p.parse(s); err != nil {
			t.Errorf("%q with %s: %v", s, f, err)
		}
	}
	c, err := newConverter(Parser{DefaultTimezone: "Asia/Tokyo", Columns: []Column{
		{Name: "b", Type: TypeBoolean}, {Name: "t", Type: TypeTimestamp, Format: "%Y-%m-%d %H:%M:%S"}, {Name: "n", Type: TypeLong}}})
	if err != nil {
		t.Fatal(err)
	}
	tv, err := c.value(1, format.Value{S: "2024-01-02 09:00:00"})
	if err != nil || !tv.(time.Time).Equal(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Tokyo 09:00 = %v, %v; want 00:00 UTC", tv, err)
	}
	bv, _ := c.value(0, format.Value{S: "yes"})
	for dialect, want := range map[string][2]string{
		dialectPostgres: {"true", "2024-01-02 00:00:00Z"},
		dialectMySQL:    {"1", "2024-01-02 00:00:00"},
		dialectSQLite:   {"1", "2024-01-02T00:00:00Z"},
	} {
		if got := [2]string{text(bv, dialect).S, text(tv, dialect).S}; got != want {
			t.Errorf("%s: %q, want %q", dialect, got, want)
		}
	}
	if _, err := c.value(2, format.Value{S: "x"}); err == nil {
		t.Error("a long column took x")
	}
	if v, _ := c.value(2, format.Value{S: " "}); v != nil {
		t.Errorf("a blank long is %v, want NULL", v)
	}
}

func FuzzTimestampFormat(f *testing.F) {
	for _, s := range []string{"2024-01-02", "13/02/2024 10:00", "2024-01-02T03:04:05.123456789-07:00", "Tue, 02 Jan 2024 03:04:05 +0000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fm, ok := timestampFormat(s)
		if !ok {
			return
		}
		p, err := newTimeParser(fm, "")
		if err != nil {
			t.Fatalf("%q: format %q: %v", s, fm, err)
		}
		if _, err := p.parse(s); err != nil {
			t.Fatalf("%q does not parse with its own format %q: %v", s, fm, err)
		}
	})
}
