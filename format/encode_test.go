package format

import (
	"bytes"
	"testing"
)

// TestCSVRow: NULL is an unquoted empty field, values are quoted with
// quotes doubled, one row a line (a line break in a value stays inside
// its quotes).
func TestCSVRow(t *testing.T) {
	got := CSVRow(nil, []Value{{S: `a"b`}, {Null: true}, {S: ""}, {S: "x\ny"}})
	if want := "\"a\"\"b\",,\"\",\"x\ny\"\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got = TextRow(bytes.Clone(got[:0]), []Value{{S: "a\tb\\c\nd\x00\x1a"}, {Null: true}})
	if want := "a\\tb\\\\c\\nd\\0\\Z\t\\N\n"; string(got) != want {
		t.Errorf("TextRow: got %q, want %q", got, want)
	}
}
