package compress

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestZipSlip refuses an archive with an entry named to land outside its
// directory, whatever the entry holds.
func TestZipSlip(t *testing.T) {
	for _, name := range []string{"../x", "a/../../x", "/etc/passwd", `..\x`, `a\..\..\x`, ""} {
		z := zipBytes(t, [2]string{"ok.csv", "1\n"}, [2]string{name, "2\n"})
		rc, err := OpenZip(bytes.NewReader(z), int64(len(z)), 1<<20)
		if err == nil {
			b, _ := io.ReadAll(rc)
			rc.Close()
			t.Errorf("entry %q: read %q, want zip.ErrInsecurePath", name, b)
			continue
		}
		if !errors.Is(err, zip.ErrInsecurePath) {
			t.Errorf("entry %q: %v, want zip.ErrInsecurePath", name, err)
		}
	}
}

// fuzzLimit caps what a fuzzed input may decompress to, so bombs end fast.
const fuzzLimit = 1 << 20

// FuzzDecompress feeds any bytes, under any name, to Decompress: no panic,
// and never more output than the limit, however the input claims to
// expand.
func FuzzDecompress(f *testing.F) {
	f.Add(gzipBytes(f, []byte("id,name\n1,a\n")), uint8(0))
	f.Add(gzipBytes(f, []byte("x"))[:12], uint8(1))
	f.Add(zstdBytes(f, []byte("id\n1\n")), uint8(2))
	f.Add([]byte("BZh91AY&SY"), uint8(3))
	f.Add([]byte("plain,text\n"), uint8(0))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, uint8(4))
	names := []string{"a.csv", "a.csv.gz", "a.zst", "a.bz2", "a.zip"}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		rc, _, err := Decompress(bytes.NewReader(data), names[int(which)%len(names)], "", fuzzLimit)
		if err != nil {
			return
		}
		defer rc.Close()
		n, err := io.Copy(io.Discard, rc)
		if n > fuzzLimit {
			t.Fatalf("decompressed %d bytes past the %d limit (err %v)", n, fuzzLimit, err)
		}
	})
}

// FuzzOpenZip feeds any bytes to OpenZip: no panic, the limit holds, and
// no entry that leaves the archive's directory is read.
func FuzzOpenZip(f *testing.F) {
	f.Add(zipBytes(f, [2]string{"a.csv", "1,a\n"}, [2]string{"dir/b.csv", "2,b\n"}))
	f.Add(zipBytes(f, [2]string{"../x", "evil\n"}))
	f.Add(zipBytes(f))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rc, err := OpenZip(bytes.NewReader(data), int64(len(data)), fuzzLimit)
		if err != nil {
			return
		}
		defer rc.Close()
		if n, _ := io.Copy(io.Discard, rc); n > fuzzLimit {
			t.Fatalf("read %d bytes past the %d limit", n, fuzzLimit)
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for _, e := range zr.File {
			if e.Name == "" || e.Name[0] == '/' || strings.Contains(e.Name, `\`) || !localName(e.Name) {
				t.Fatalf("OpenZip accepted an archive with entry %q", e.Name)
			}
		}
	})
}

// localName is filepath.IsLocal spelled out for slash paths, so the fuzz
// check doesn't trust the function it tests against.
func localName(name string) bool {
	depth := 0
	for _, el := range strings.Split(name, "/") {
		switch el {
		case "..":
			depth--
		case "", ".":
		default:
			depth++
		}
		if depth < 0 {
			return false
		}
	}
	return true
}
