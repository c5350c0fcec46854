package connector

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/format"
)

// TestDirectIsTyped: the direct path (text to text, for runs without
// filters) writes exactly the bytes the typed path (value, then text)
// writes, and refuses exactly what it refuses, for every column type,
// every dialect, and values at the edges of each type.
func TestDirectIsTyped(t *testing.T) {
	values := map[string][]string{
		TypeLong:      {"0", "-1", "+7", " 42 ", "9223372036854775807", "9223372036854775808", "1.5", "0x10", "1_000", "", " ", "abc", "-0", "007"},
		TypeDouble:    {"0", "0.5", "1.0", "1234567", "1e5", "1E-7", "0.1000000000000000000000", "-0", "+3.25", "NaN", "Inf", "-Infinity", "0x1p-2", "1_0", "1e400", "", "x", " 2.50 "},
		TypeBoolean:   {"true", "FALSE", "yes", "n", "1", "0", "2", "", "maybe"},
		TypeTimestamp: {"2026-01-01 00:00:01", "2024-02-29 23:59:59", "2023-02-29 00:00:00", "2026-13-01 00:00:00", "2026-01-01 24:00:00", "2026-01-01 00:60:00", "2026-01-01 00:00:60", "2026-1-01 00:00:00", "2026-01-01T00:00:00", " 2026-01-01 00:00:01 ", "2026-01-01 00:00:01.5", "", "0000-01-01 00:00:00", "2026-1-2 3:4:5", "2026-01-02 03:04:5", "9999-12-31 23:59:59", "2000-02-29 12:00:00", "1900-02-29 12:00:00"},
		TypeJSON:      {`{"a":1}`, `[1,`, `"s"`, ""},
		TypeString:    {"", " padded ", "tab\there", `back\slash`},
	}
	for _, zone := range []string{"UTC", "Asia/Tokyo"} {
		for _, trim := range []bool{false, true} {
			for typ, vs := range values {
				col := Column{Name: "c", Type: typ}
				p := Parser{Columns: []Column{col}, DefaultTimezone: zone, TrimIfNotQuoted: trim}
				if typ == TypeTimestamp {
					p.Columns[0].Format = "%Y-%m-%d %H:%M:%S"
				}
				conv, err := newConverter(p)
				if err != nil {
					t.Fatal(err)
				}
				if want := typ == TypeTimestamp && zone == "UTC"; conv.isoUTC[0] != want {
					t.Fatalf("%s %s: checked by hand %v, want %v", typ, zone, conv.isoUTC[0], want)
				}
				for _, dialect := range []string{dialectPostgres, dialectMySQL, dialectSQLite} {
					for _, v := range append(vs, "\x00null") {
						in := format.Value{S: v}
						if v == "\x00null" {
							in = format.Value{Null: true}
						}
						typed, terr := conv.value(0, in)
						got, derr := conv.direct(0, in, dialect)
						if (terr == nil) != (derr == nil) || (terr != nil && terr.Error() != derr.Error()) {
							t.Errorf("%s %s %s trim %v %q: typed error %v, direct error %v", zone, typ, dialect, trim, v, terr, derr)
							continue
						}
						if terr != nil {
							continue
						}
						if want := text(typed, dialect); got != want {
							t.Errorf("%s %s %s trim %v %q: direct %+v, typed %+v", zone, typ, dialect, trim, v, got, want)
						}
					}
				}
			}
		}
	}
}

// TestStreamDirect: a run without filters takes the direct path, and a
// whole object comes out as the typed path writes it, bad rows included.
func TestStreamDirect(t *testing.T) {
	p := Parser{Type: "csv", SkipHeaderLines: 1, DefaultTimezone: "UTC", Columns: []Column{
		{Name: "id", Type: TypeLong}, {Name: "name", Type: TypeString}, {Name: "amount", Type: TypeDouble},
		{Name: "ts", Type: TypeTimestamp, Format: "%Y-%m-%d %H:%M:%S"}, {Name: "ok", Type: TypeBoolean}}}
	body := "id,name,amount,ts,ok\n1,\"a, b\",1.50,2026-01-01 00:00:01,yes\n2,x\ty,,2026-02-30 00:00:00,no\n3,c,2.5,2026-03-01 10:00:00,0\nx,d,1,2026-01-01 00:00:00,1\n"
	l := columnMap{}
	for i, c := range p.Columns {
		l = append(l, source{Column: c, in: i})
	}
	if !l.plain(p) {
		t.Fatal("a map of the parser's own columns is not plain")
	}
	for _, dialect := range []string{dialectPostgres, dialectMySQL, dialectSQLite} {
		read := func(direct bool) (string, []string) {
			var bad []string
			r := decoderFor(p, l, dialect, "", true, func(file string, err error) { bad = append(bad, err.Error()) })("f.csv", strings.NewReader(body))
			st := r.(*stream)
			if st.direct != true {
				t.Fatal("the stream of a plain map is not direct")
			}
			st.direct = direct
			var out bytes.Buffer
			if _, err := io.Copy(&out, r); err != nil {
				t.Fatal(err)
			}
			return out.String(), bad
		}
		typed, typedBad := read(false)
		direct, directBad := read(true)
		if typed != direct || strings.Join(typedBad, "|") != strings.Join(directBad, "|") {
			t.Errorf("%s: direct %q %q, typed %q %q", dialect, direct, directBad, typed, typedBad)
		}
		if len(directBad) != 2 {
			t.Errorf("%s: bad rows %q, want the impossible date and the id x", dialect, directBad)
		}
	}
}

// BenchmarkStream: a run's decode of the bench/connector.sh rows, by the
// typed path and the direct one.
func BenchmarkStream(b *testing.B) {
	p := Parser{Type: "csv", DefaultTimezone: "UTC", Columns: []Column{
		{Name: "id", Type: TypeLong}, {Name: "name", Type: TypeString}, {Name: "amount", Type: TypeDouble}, {Name: "qty", Type: TypeLong},
		{Name: "ts", Type: TypeTimestamp, Format: "%Y-%m-%d %H:%M:%S"}, {Name: "flag", Type: TypeLong}, {Name: "score", Type: TypeDouble},
		{Name: "note", Type: TypeString}}}
	var body strings.Builder
	for i := range 20000 {
		body.WriteString(strings.NewReplacer("I", strings.Repeat("7", 1+i%6)).Replace(
			"I,name I,123.45,I,2026-01-01 10:11:12,1,I.5,0cc175b9c0f1b6a831c399e269772661\n"))
	}
	l := columnMap{}
	for i, c := range p.Columns {
		l = append(l, source{Column: c, in: i})
	}
	for _, direct := range []bool{false, true} {
		b.Run(map[bool]string{false: "typed", true: "direct"}[direct], func(b *testing.B) {
			b.SetBytes(int64(body.Len()))
			for b.Loop() {
				r := decoderFor(p, l, dialectPostgres, "", false, nil)("f.csv", strings.NewReader(body.String()))
				r.(*stream).direct = direct
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
