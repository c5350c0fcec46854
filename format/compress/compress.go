// Package compress detects and undoes the compression of a data file
// (gzip, zstd, bzip2, zip) with a cap on the decompressed size, so that a
// decompression bomb fails cleanly in bounded memory, and compresses
// what s3bridge writes (gzip, zstd: NewWriter).
package compress

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Codec names a compression format.
type Codec string

// The codecs Decompress and OpenZip handle.
const (
	None  Codec = "none"
	Gzip  Codec = "gzip"
	Zstd  Codec = "zstd"
	Bzip2 Codec = "bzip2"
	Zip   Codec = "zip"
)

var (
	// ErrTooLarge means the decompressed data exceeds the caller's limit.
	ErrTooLarge = errors.New("decompressed size exceeds the limit")
	// ErrNeedsReaderAt is returned by Decompress for a zip archive, whose
	// directory is at its end: the caller opens it with OpenZip and a
	// ReaderAt (an S3 object supports ranged reads).
	ErrNeedsReaderAt = errors.New("zip archive needs random access: use OpenZip")
)

// MaxZstdWindow caps the window of a zstd frame, which is the memory the
// decoder allocates: 64 MiB covers every standard level up to 19 and
// --long=26; a frame asking for more is refused rather than trusted.
const MaxZstdWindow = 64 << 20

// Decompress returns the decompressed data of r and the codec it found.
//
// The codec is detected from the magic bytes; when they match none, from the
// extension of name (.gz .gzip .zst .zstd .bz2 .zip), then from
// contentEncoding (gzip, x-gzip, zstd, bzip2; identity or "" for none).
// Data that a name or encoding calls compressed but that does not decode is
// an error, never read as plain text.
//
// limit caps the decompressed bytes: reading past it returns an error
// satisfying errors.Is(err, ErrTooLarge) that names the limit. limit <= 0
// means no cap; callers reading untrusted data always pass one. Truncated
// gzip, zstd or bzip2 input is an error wrapping io.ErrUnexpectedEOF, never a
// silent short read. gzip members are read one after another (multi-member
// files, as written by pigz or concatenation).
//
// For zip input it returns ErrNeedsReaderAt with codec Zip. Close releases
// the decoder; it does not close r.
func Decompress(r io.Reader, name, contentEncoding string, limit int64) (io.ReadCloser, Codec, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, None, fmt.Errorf("decompress %s: %w", name, err)
	}
	codec, err := detect(magic, name, contentEncoding)
	if err != nil {
		return nil, None, err
	}
	switch codec {
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // a .gz must hold at least a header
		}
		if err != nil {
			return nil, Gzip, fmt.Errorf("gzip %s: %w", name, err)
		}
		return newLimited(zr, Gzip, limit, zr.Close), Gzip, nil
	case Zstd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(MaxZstdWindow), zstd.WithDecoderMaxMemory(MaxZstdWindow))
		if err != nil {
			return nil, Zstd, fmt.Errorf("zstd %s: %w", name, err)
		}
		return newLimited(zr, Zstd, limit, func() error { zr.Close(); return nil }), Zstd, nil
	case Bzip2:
		return newLimited(bzip2.NewReader(br), Bzip2, limit, nil), Bzip2, nil
	case Zip:
		return nil, Zip, ErrNeedsReaderAt
	}
	return newLimited(br, None, limit, nil), None, nil
}

var magics = []struct {
	prefix []byte
	codec  Codec
}{
	{[]byte{0x1f, 0x8b}, Gzip},
	{[]byte{0x28, 0xb5, 0x2f, 0xfd}, Zstd},
	{[]byte("PK\x03\x04"), Zip},
	{[]byte("PK\x05\x06"), Zip}, // an empty archive
}

func detect(magic []byte, name, contentEncoding string) (Codec, error) {
	for _, m := range magics {
		if bytes.HasPrefix(magic, m.prefix) {
			return m.codec, nil
		}
	}
	if len(magic) == 4 && string(magic[:3]) == "BZh" && '1' <= magic[3] && magic[3] <= '9' {
		return Bzip2, nil
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".gz", ".gzip":
		return Gzip, nil
	case ".zst", ".zstd":
		return Zstd, nil
	case ".bz2":
		return Bzip2, nil
	case ".zip":
		return Zip, nil
	}
	switch ce := strings.ToLower(strings.TrimSpace(contentEncoding)); ce {
	case "gzip", "x-gzip":
		return Gzip, nil
	case "zstd":
		return Zstd, nil
	case "bzip2", "x-bzip2":
		return Bzip2, nil
	case "", "identity":
		return None, nil
	default:
		return None, fmt.Errorf("decompress %s: content encoding %q is not supported (gzip, zstd, bzip2)", name, ce)
	}
}

// limited caps the decompressed bytes and names the codec in its errors.
type limited struct {
	r      io.Reader
	codec  Codec
	left   int64 // bytes still allowed
	limit  int64
	closer func() error
	err    error
}

func newLimited(r io.Reader, codec Codec, limit int64, closer func() error) *limited {
	return &limited{r: r, codec: codec, left: limit, limit: limit, closer: closer}
}

func (l *limited) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if l.limit > 0 {
		if l.left <= 0 {
			return 0, l.atLimit()
		}
		p = p[:min(int64(len(p)), l.left)]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if err != nil {
		l.err = err
		if err != io.EOF && l.codec != None {
			l.err = fmt.Errorf("%s: %w", l.codec, err)
		}
	}
	return n, l.err
}

// atLimit reads one byte past the limit: the input ends there (io.EOF, after
// the decoder checked its trailer) or it is too large.
func (l *limited) atLimit() error {
	var b [1]byte
	n, err := io.ReadAtLeast(l.r, b[:], 1)
	switch {
	case n > 0:
		l.err = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, l.limit)
	case err == io.EOF:
		l.err = io.EOF
	default:
		l.err = fmt.Errorf("%s: %w", l.codec, err)
	}
	return l.err
}

// Close releases the decoder.
func (l *limited) Close() error {
	if l.closer == nil {
		return nil
	}
	c := l.closer
	l.closer = nil
	return c()
}
