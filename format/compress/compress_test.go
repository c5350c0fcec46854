package compress

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

const sample = "id,name\n1,alice\n2,bob\n"

func gzipBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func zstdBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil)
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecompress(t *testing.T) {
	gz := gzipBytes(t, []byte(sample))
	zs := zstdBytes(t, []byte(sample))
	bz := readFile(t, "testdata/sample.csv.bz2")
	tests := []struct {
		name      string
		data      []byte
		file, ce  string
		wantCodec Codec
		wantErr   string
	}{
		{name: "plain", data: []byte(sample), file: "a.csv", wantCodec: None},
		{name: "gzip by magic", data: gz, file: "a.csv", wantCodec: Gzip},
		{name: "zstd by magic", data: zs, file: "a", wantCodec: Zstd},
		{name: "bzip2 by magic", data: bz, file: "a", wantCodec: Bzip2},
		{name: "multi-member gzip", data: append(gzipBytes(t, []byte(sample[:8])), gzipBytes(t, []byte(sample[8:]))...), wantCodec: Gzip},
		{name: "gzip extension on plain data", data: []byte(sample), file: "s3://b/a.csv.GZ", wantErr: "gzip s3://b/a.csv.GZ: gzip: invalid header"},
		{name: "gzip encoding on plain data", data: []byte(sample), ce: "gzip", wantErr: "gzip : gzip: invalid header"},
		{name: "zstd extension on plain data", data: []byte(sample), file: "a.zst", wantErr: "zstd: invalid input: magic number mismatch"},
		{name: "identity encoding", data: []byte(sample), ce: "identity", wantCodec: None},
		{name: "unsupported encoding", data: []byte(sample), file: "a", ce: "br", wantErr: `decompress a: content encoding "br" is not supported (gzip, zstd, bzip2)`},
		{name: "zip", data: []byte("PK\x03\x04rest"), file: "a.csv", wantCodec: Zip, wantErr: ErrNeedsReaderAt.Error()},
		{name: "empty gz", data: nil, file: "a.gz", wantErr: "gzip a.gz: unexpected EOF"},
		{name: "empty plain", data: nil, file: "a.csv", wantCodec: None},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc, codec, err := Decompress(bytes.NewReader(tc.data), tc.file, tc.ce, 1<<20)
			var got []byte
			if err == nil {
				got, err = io.ReadAll(rc)
				if cerr := rc.Close(); err == nil {
					err = cerr
				}
			}
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := sample
			if tc.data == nil {
				want = ""
			}
			if codec != tc.wantCodec || string(got) != want {
				t.Fatalf("got %s %q, want %s %q", codec, got, tc.wantCodec, want)
			}
		})
	}
}

// TestTruncated cuts compressed data at every length: each cut must be an
// error, never a silent short read.
func TestTruncated(t *testing.T) {
	data := bytes.Repeat([]byte("1,some row of text,3.25\n"), 2000)
	bz := readFile(t, "testdata/sample.csv.bz2")
	for _, c := range []struct {
		codec Codec
		data  []byte
	}{{Gzip, gzipBytes(t, data)}, {Zstd, zstdBytes(t, data)}, {Bzip2, bz}} {
		for cut := 1; cut < len(c.data); cut++ {
			rc, _, err := Decompress(bytes.NewReader(c.data[:cut]), "x."+map[Codec]string{Gzip: "gz", Zstd: "zst", Bzip2: "bz2"}[c.codec], "", 0)
			if err == nil {
				_, err = io.ReadAll(rc)
				rc.Close()
			}
			if err == nil {
				t.Fatalf("%s cut at %d of %d: no error", c.codec, cut, len(c.data))
			}
			// zstd reports a cut inside a block header as its own error;
			// the end of a frame and gzip/bzip2 cuts are unexpected EOFs.
			if c.codec != Zstd && !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "invalid header") {
				t.Errorf("%s cut at %d: %v, want io.ErrUnexpectedEOF", c.codec, cut, err)
			}
		}
	}
}

// repeat reads n copies of b without materialising them.
type repeat struct {
	b    []byte
	n    int
	off  int
	read int64
}

func (r *repeat) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := copy(p, r.b[r.off:])
	r.off += k
	r.read += int64(k)
	if r.off == len(r.b) {
		r.off, r.n = 0, r.n-1
	}
	return k, nil
}

// TestBomb decompresses 10 GiB of zeros, compressed and repeated without
// ever being materialised, under a 256 MiB limit: the error must be
// ErrTooLarge naming the limit, quickly and in bounded memory.
func TestBomb(t *testing.T) {
	limit := int64(256 << 20)
	if raceEnabled {
		limit = 32 << 20
	}
	zeros := make([]byte, 16<<20)
	bombs := []struct {
		codec  Codec
		member []byte
		copies int
	}{
		{Gzip, gzipBytes(t, zeros), 640},
		{Zstd, zstdBytes(t, zeros), 640},
		{Bzip2, readFile(t, "testdata/zeros64m.bz2"), 160},
	}
	zeros = nil
	for _, b := range bombs {
		t.Run(string(b.codec), func(t *testing.T) {
			runtime.GC()
			src := &repeat{b: b.member, n: b.copies}
			start := time.Now()
			rc, codec, err := Decompress(src, "bomb", "", limit)
			if err != nil {
				t.Fatal(err)
			}
			n, peak, err := drain(rc)
			rc.Close()
			elapsed := time.Since(start)
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), fmt.Sprint(limit)) {
				t.Fatalf("err = %v, want ErrTooLarge naming the limit", err)
			}
			if codec != b.codec || n != limit {
				t.Fatalf("codec %s, read %d bytes; want %s, %d", codec, n, b.codec, limit)
			}
			t.Logf("%s: 10 GiB bomb of %d x %d compressed bytes: stopped after %d MiB out, %d compressed bytes in, in %v, peak heap in use %d MiB",
				b.codec, b.copies, len(b.member), n>>20, src.read, elapsed.Round(time.Millisecond), peak>>20)
			if peak > 64<<20 {
				t.Errorf("peak heap in use %d MiB, want < 64 MiB", peak>>20)
			}
			if elapsed > 10*time.Second {
				t.Errorf("took %v", elapsed)
			}
		})
	}
}

// drain reads r to its end or error, sampling the heap in use.
func drain(r io.Reader) (n int64, peakHeap uint64, err error) {
	buf := make([]byte, 256<<10)
	for reads := 0; ; reads++ {
		k, err := r.Read(buf)
		n += int64(k)
		if reads%32 == 0 {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
		}
		if err == io.EOF {
			return n, peakHeap, nil
		}
		if err != nil {
			return n, peakHeap, err
		}
	}
}

func zipBytes(t testing.TB, entries ...[2]string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, e := range entries {
		f, err := w.Create(e[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(e[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestOpenZip(t *testing.T) {
	z := zipBytes(t, [2]string{"a.csv", "1,a\n"}, [2]string{"dir/", ""}, [2]string{"dir/b.csv", "2,b\n"})
	tests := []struct {
		name    string
		data    []byte
		limit   int64
		want    string
		wantErr error
	}{
		{name: "entries in order", data: z, limit: 1 << 20, want: "1,a\n2,b\n"},
		{name: "limit applies to the total", data: z, limit: 6, wantErr: ErrTooLarge},
		{name: "exact limit", data: z, limit: 8, want: "1,a\n2,b\n"},
		{name: "empty archive", data: zipBytes(t), limit: 1, want: ""},
		{name: "not a zip", data: []byte("hello"), limit: 1, wantErr: zip.ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc, err := OpenZip(bytes.NewReader(tc.data), int64(len(tc.data)), tc.limit)
			var got []byte
			if err == nil {
				got, err = io.ReadAll(rc)
				rc.Close()
			}
			if tc.wantErr != nil || err != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if string(got) != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestZipBomb(t *testing.T) {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	f, err := w.Create("zeros.csv")
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for range 64 {
		if _, err := f.Write(zeros); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rc, err := OpenZip(bytes.NewReader(b.Bytes()), int64(b.Len()), 8<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if !errors.Is(err, ErrTooLarge) || n != 8<<20 {
		t.Fatalf("read %d, err %v; want 8 MiB then ErrTooLarge", n, err)
	}
}

// TestZstdWindowCap refuses a frame whose window would allocate more than
// MaxZstdWindow, instead of trusting the header.
func TestZstdWindowCap(t *testing.T) {
	var b bytes.Buffer
	w, err := zstd.NewWriter(&b, zstd.WithWindowSize(256<<20))
	if err != nil {
		t.Fatal(err)
	}
	// More than a block, so the header is written before the size is known.
	if _, err := w.Write(bytes.Repeat([]byte(sample), 200000)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rc, _, err := Decompress(&b, "big-window.zst", "", 0)
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	if !errors.Is(err, zstd.ErrWindowSizeExceeded) && !errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		t.Fatalf("err = %v, want a window size error", err)
	}
}
