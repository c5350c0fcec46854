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

// FuzzTextRow: TextRow's run-at-a-time escaping writes what escaping each
// byte by itself does, and reads back (through the text reader) as the
// values it was given.
func FuzzTextRow(f *testing.F) {
	for _, s := range []string{"", "plain", "a\tb\\c\nd\x00\x1a", "\r\n", "\\", "é\x1a\x00", "\\N"} {
		f.Add(s, "x", false)
	}
	f.Fuzz(func(t *testing.T, a, b string, null bool) {
		rec := []Value{{S: a}, {S: b, Null: null}}
		got := TextRow(nil, rec)
		var want []byte
		for i, v := range rec {
			if i > 0 {
				want = append(want, '\t')
			}
			if v.Null {
				want = append(want, `\N`...)
				continue
			}
			for j := 0; j < len(v.S); j++ {
				switch c := v.S[j]; c {
				case '\\':
					want = append(want, `\\`...)
				case '\t':
					want = append(want, `\t`...)
				case '\n':
					want = append(want, `\n`...)
				case '\r':
					want = append(want, `\r`...)
				case 0:
					want = append(want, `\0`...)
				case 0x1a:
					want = append(want, `\Z`...)
				default:
					want = append(want, c)
				}
			}
		}
		want = append(want, '\n')
		if !bytes.Equal(got, want) {
			t.Fatalf("TextRow(%q, %q, null %v) = %q, want %q", a, b, null, got, want)
		}
	})
}
