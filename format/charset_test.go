package format

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

func TestTranscode(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	// Windows-1252's 0x80-0x9F, with MySQL's C1 controls for the five
	// undefined bytes.
	c1 := []rune("€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ")
	var cp1252, latin1 strings.Builder
	for i := range 256 {
		latin1.WriteRune(rune(i))
		if i >= 0x80 && i < 0xA0 {
			cp1252.WriteRune(c1[i-0x80])
		} else {
			cp1252.WriteRune(rune(i))
		}
	}
	tests := []struct {
		charset string
		want    string
	}{
		{"latin1", cp1252.String()},
		{"Windows-1252", cp1252.String()},
		{"cp1252", cp1252.String()},
		{"iso-8859-1", latin1.String()},
		{"utf8mb4", string(all)},
		{"binary", string(all)},
	}
	for _, tc := range tests {
		r, err := Transcode(strings.NewReader(string(all)), tc.charset)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: got %q, %v\nwant %q", tc.charset, got, err, tc.want)
		}
		if tc.charset != "utf8mb4" && tc.charset != "binary" && !utf8.Valid(got) {
			t.Errorf("%s: output is not UTF-8", tc.charset)
		}
		// Small and odd read sizes, including a 1-byte buffer for a
		// 3-byte character.
		r, _ = Transcode(strings.NewReader(string(all)), tc.charset)
		if err := iotest.TestReader(r, []byte(tc.want)); err != nil {
			t.Errorf("%s: %v", tc.charset, err)
		}
	}
}

func TestTranscodeUnknown(t *testing.T) {
	_, err := Transcode(strings.NewReader(""), "koi8-r")
	want := `charset "koi8-r": unsupported (supported: utf8, utf8mb4, utf-8, ascii, us-ascii, binary, latin1, iso-8859-1, iso8859-1, windows-1252, cp1252)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestTranscodeOneByteReads(t *testing.T) {
	r, _ := Transcode(iotest.OneByteReader(strings.NewReader("caf\xe9 \x80")), "latin1")
	got, err := io.ReadAll(iotest.OneByteReader(r))
	if err != nil || string(got) != "café €" {
		t.Fatalf("got %q, %v", got, err)
	}
}
