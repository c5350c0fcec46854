package jsonl

import (
	"bytes"
	"encoding/json"
	"testing"
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
