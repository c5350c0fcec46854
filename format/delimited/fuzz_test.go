package delimited

import (
	"bytes"
	"io"
	"testing"

	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/tuple"
)

// dialects are the dialects the fuzzer cycles through, each with the
// options that make the format package (a decoder written apart from this
// writer) read it back.
var dialects = []struct {
	name string
	d    Dialect
	read format.Options
}{
	{"csv", Dialect{CSV: true, FieldsTerminatedBy: ",", FieldsEnclosedBy: '"', FieldsEscapedBy: '"', LinesTerminatedBy: "\n"},
		format.Options{Format: "csv", NullEmpty: true}},
	{"csv semicolon crlf", Dialect{CSV: true, FieldsTerminatedBy: ";", FieldsEnclosedBy: '"', FieldsEscapedBy: '"', LinesTerminatedBy: "\r\n"},
		format.Options{Format: "csv", NullEmpty: true, FieldsTerminatedBy: ";", LinesTerminatedBy: "\r\n"}},
	{"csv always quoted", Dialect{CSV: true, FieldsTerminatedBy: ",", FieldsEnclosedBy: '"', AlwaysEnclosed: true, FieldsEscapedBy: '"', LinesTerminatedBy: "\n"},
		format.Options{Format: "csv", NullEmpty: true}},
	{"text", Dialect{FieldsTerminatedBy: "\t", FieldsEscapedBy: '\\', LinesTerminatedBy: "\n"},
		format.Options{Format: "text"}},
	{"text comma quoted", Dialect{FieldsTerminatedBy: ",", FieldsEnclosedBy: '"', FieldsEscapedBy: '\\', LinesStartingBy: ">", LinesTerminatedBy: "\n"},
		format.Options{Format: "text", FieldsTerminatedBy: ",", FieldsEnclosedBy: `"`, FieldsOptionallyEnclosed: true, LinesStartingBy: ">"}},
	{"text multi-byte terminators", Dialect{FieldsTerminatedBy: "||", FieldsEscapedBy: '\\', LinesTerminatedBy: "<eol>\n"},
		format.Options{Format: "text", FieldsTerminatedBy: "||", LinesTerminatedBy: "<eol>\n"}},
}

// FuzzDelimitedRoundTrip: whatever the text, a row written as csv or text
// in any dialect reads back as the same fields, NULL told from "".
func FuzzDelimitedRoundTrip(f *testing.F) {
	for _, s := range []string{"", "plain", "a,b", `"quoted"`, "x\ny", "\r\n", `\N`, "NULL", "\\", "\t", "\x00", "é✓",
		`\.`, ">start", "||", "<eol>", "\\\n", `"`, "a\"\"b", " lead", "trail "} {
		for i := range dialects {
			f.Add(s, "second", i%2 == 0, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, a, b string, bNull bool, which uint8) {
		dl := dialects[int(which)%len(dialects)]
		cols := []tuple.Column{{Name: "a"}, {Name: "b\t,\"x"}, {Name: "n", Type: tuple.TypeInt64}}
		row := []tuple.Value{tuple.StringValue(a), tuple.StringValue(b), tuple.IntValue(-42)}
		if bNull {
			row[1] = tuple.NullValue()
		}
		var out bytes.Buffer
		enc := NewWriter(dl.d, cols, true)
		if err := enc.Begin(&out); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := enc.Write(row); err != nil {
				t.Fatal(err)
			}
		}
		o := dl.read
		o.Header, o.Charset = true, "binary"
		r, err := format.NewReader(bytes.NewReader(out.Bytes()), o)
		if err != nil {
			t.Fatalf("%s: %v\n%q", dl.name, err, out.Bytes())
		}
		if got := r.Columns(); len(got) != 3 || got[1] != cols[1].Name {
			t.Fatalf("%s: header %q from %q", dl.name, got, out.Bytes())
		}
		for range 2 {
			rec, err := r.Next()
			if err != nil {
				t.Fatalf("%s: %v reading %q", dl.name, err, out.Bytes())
			}
			want := []format.Value{{S: a}, {S: b, Null: bNull}, {S: "-42"}}
			if bNull {
				want[1].S = rec[1].S // the text of a NULL doesn't matter
			}
			if len(rec) != 3 || rec[0] != want[0] || rec[1] != want[1] || rec[2] != want[2] {
				t.Fatalf("%s: wrote %q, read %+v, want %+v", dl.name, out.Bytes(), rec, want)
			}
		}
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("%s: a third record in %q: %v", dl.name, out.Bytes(), err)
		}
	})
}
