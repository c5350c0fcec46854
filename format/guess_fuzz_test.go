package format

import (
	"bytes"
	"slices"
	"testing"
)

// FuzzGuess feeds any sample to Guess, as detection does with the head of
// an object whose format the load didn't name, then decodes the sample
// with what it guessed: no panic, and a guess is always a format the
// decoders take.
func FuzzGuess(f *testing.F) {
	for _, s := range []string{"id,name\n1,a\n", "a\tb\n1\t2\n", `{"a":1}` + "\n" + `{"a":2}`, `[{"a":1}]`,
		"<rows><row><a>1</a></row></rows>", "\xef\xbb\xbfid;name\n1;\xe9\n", "1|2|3\n4|5", "", "\x00\x01", "<", "{", "\"a\nb\",c\n"} {
		f.Add([]byte(s), "data.csv")
	}
	f.Add([]byte("x,y\n"), "data.jsonl.gz")
	f.Fuzz(func(t *testing.T, sample []byte, name string) {
		o, err := Guess(sample, name)
		if err != nil {
			return
		}
		if !slices.Contains([]string{"csv", "tsv", "text", "jsonl", "json", "xml"}, o.Format) {
			t.Fatalf("Guess(%q, %q) = format %q", sample, name, o.Format)
		}
		o.MaxRecordBytes = 1 << 16
		r, err := NewReader(bytes.NewReader(sample), o)
		if err != nil {
			return
		}
		for range len(sample) + 2 {
			if _, err := r.Next(); err != nil {
				return // io.EOF, or a decoding error: both fine here
			}
		}
		t.Fatalf("Guess(%q) then decode: more records than bytes", sample)
	})
}
