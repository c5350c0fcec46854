package jsonl

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/s3bridge/s3bridge/tuple"
)

func TestJSONNumber(t *testing.T) {
	for s, want := range map[string]bool{"0": true, "-1.5": true, "1e10": true, "1.5E-3": true, "01": false, "NaN": false,
		"Infinity": false, "1.": false, ".5": false, "": false, "-": false, "1e": false} {
		if got := validJSONNumber([]byte(s)); got != want {
			t.Errorf("validJSONNumber(%q) = %v", s, got)
		}
	}
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

// TestWriterTypes: arrays are JSON arrays typed by their elements (NULLs
// and nesting kept), times of day and UUIDs strings, whatever form the
// database sent them in.
func TestWriterTypes(t *testing.T) {
	l := func(v ...tuple.Value) tuple.Value { return tuple.ListValue(v) }
	s := tuple.StringValue
	cols := []tuple.Column{
		tuple.ListOf("m", tuple.Column{Type: tuple.TypeInt32}, 2),
		tuple.ListOf("d", tuple.Column{Type: tuple.TypeDecimal}, 1),
		tuple.ListOf("j", tuple.Column{Type: tuple.TypeJSON}, 1),
		tuple.ListOf("b", tuple.Column{Type: tuple.TypeBool}, 1),
		{Name: "t", Type: tuple.TypeTime}, {Name: "t2", Type: tuple.TypeTime},
		{Name: "u", Type: tuple.TypeUUID}, {Name: "u2", Type: tuple.TypeUUID},
		tuple.ListOf("e", tuple.Column{Type: tuple.TypeText}, 1),
	}
	uuid := []byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}
	row := []tuple.Value{
		l(l(tuple.IntValue(1), tuple.NullValue()), l(tuple.IntValue(3), tuple.IntValue(4))),
		l(s("1.50"), s("NaN"), tuple.NullValue()),
		l(s(`{"a": 1}`), tuple.NullValue()),
		l(tuple.BoolValue(true), s("f")),
		tuple.IntValue(45296_500000), s("12:34:56.500000"),
		tuple.BytesValue(uuid), s("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
		l(),
	}
	var out bytes.Buffer
	w := NewWriter(cols)
	if err := w.Begin(&out); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(row); err != nil {
		t.Fatal(err)
	}
	want := `{"m":[[1,null],[3,4]],"d":[1.50,"NaN",null],"j":[{"a": 1},null],"b":[true,false],"t":"12:34:56.5","t2":"12:34:56.500000",` +
		`"u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","u2":"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11","e":[]}` + "\n"
	if out.String() != want {
		t.Errorf("got  %s\nwant %s", out.String(), want)
	}
}
