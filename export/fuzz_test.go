package export

import (
	"bytes"
	"encoding/json"
	"github.com/s3bridge/s3bridge/tuple"
	"io"
	"testing"

	"github.com/s3bridge/s3bridge/format"
)

// dialects are FIELDS/LINES settings the fuzzers cycle through, each with
// the options that make the format package (a decoder written apart from
// these encoders) read it back.
var dialects = []struct {
	name   string
	format string
	fields Fields
	read   format.Options
}{
	{"csv", FormatCSV, Fields{}, format.Options{Format: "csv", NullEmpty: true}},
	{"csv semicolon crlf", FormatCSV, Fields{TerminatedBy: ptr(";"), LinesTerminatedBy: ptr("\r\n")},
		format.Options{Format: "csv", NullEmpty: true, FieldsTerminatedBy: ";", LinesTerminatedBy: "\r\n"}},
	{"csv always quoted", FormatCSV, Fields{EnclosedBy: ptr(`"`)}, format.Options{Format: "csv", NullEmpty: true}},
	{"text", FormatText, Fields{}, format.Options{Format: "text"}},
	{"text comma quoted", FormatText, Fields{TerminatedBy: ptr(","), EnclosedBy: ptr(`"`), Optionally: true, LinesStartingBy: ptr(">")},
		format.Options{Format: "text", FieldsTerminatedBy: ",", FieldsEnclosedBy: `"`, FieldsOptionallyEnclosed: true, LinesStartingBy: ">"}},
	{"text multi-byte terminators", FormatText, Fields{TerminatedBy: ptr("||"), LinesTerminatedBy: ptr("<eol>\n")},
		format.Options{Format: "text", FieldsTerminatedBy: "||", LinesTerminatedBy: "<eol>\n"}},
}

func ptr(s string) *string { return &s }

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
		d, err := newDelimiter(dl.format, dl.fields)
		if err != nil {
			t.Fatal(err)
		}
		cols := []tuple.Column{{Name: "a"}, {Name: "b\t,\"x"}, {Name: "n", Type: tuple.TypeInt64}}
		row := []tuple.Value{tuple.StringValue(a), tuple.StringValue(b), tuple.IntValue(-42)}
		if bNull {
			row[1] = tuple.NullValue()
		}
		var out bytes.Buffer
		enc := newDelimitedEncoder(d, cols, true)
		if err := enc.begin(&out); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := enc.write(row); err != nil {
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

// FuzzJSONString: appendJSONString writes what encoding/json reads back as
// the same text (invalid UTF-8 as U+FFFD, as encoding/json does).
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\x1f\u2028", "\xff\xfe", "é✓\n\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendJSONString(nil, []byte(s))
		want, _ := jsonMarshal(s)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, encoding/json says %s", s, got, want)
		}
	})
}

func jsonMarshal(s string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), err
}
