package compress

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// TestNewWriter: what NewWriter writes, Decompress reads back, at the
// default level and an explicit one; codecs it can't write are errors.
func TestNewWriter(t *testing.T) {
	want := strings.Repeat("s3bridge round trip\n", 1000)
	for _, tt := range []struct {
		codec Codec
		level int
	}{{Gzip, 0}, {Gzip, 1}, {Gzip, 9}, {Zstd, 0}, {Zstd, 19}} {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, tt.codec, tt.level)
		if err != nil {
			t.Fatalf("%s level %d: %v", tt.codec, tt.level, err)
		}
		if _, err := io.WriteString(w, want); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r, codec, err := Decompress(&buf, "x", "", 0)
		if err != nil {
			t.Fatalf("%s level %d: %v", tt.codec, tt.level, err)
		}
		got, err := io.ReadAll(r)
		if err != nil || codec != tt.codec || string(got) != want {
			t.Errorf("%s level %d: read %d bytes as %s, %v; want %d bytes", tt.codec, tt.level, len(got), codec, err, len(want))
		}
	}
	for _, c := range []Codec{None, Bzip2, Zip, "lz4"} {
		if _, err := NewWriter(io.Discard, c, 0); err == nil {
			t.Errorf("NewWriter(%s): no error", c)
		}
	}
	if _, err := NewWriter(io.Discard, Gzip, 42); err == nil {
		t.Error("gzip level 42: no error")
	}
}
