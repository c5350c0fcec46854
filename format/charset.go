package format

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// charsets lists the names Transcode accepts, for its error message.
var charsets = []string{"utf8", "utf8mb4", "utf-8", "ascii", "us-ascii", "binary",
	"latin1", "iso-8859-1", "iso8859-1", "windows-1252", "cp1252"}

// Transcode returns a reader of r converted from charset to UTF-8.
//
// UTF-8 (utf8, utf8mb4, utf-8), ASCII and binary input is returned as is:
// the row decoders validate UTF-8 themselves and report an invalid byte at
// its line and column. latin1 is MySQL's latin1, which is Windows-1252 with
// the five bytes Windows-1252 leaves undefined (0x81 0x8D 0x8F 0x90 0x9D)
// mapped to the C1 controls of the same value, so every byte converts
// losslessly; windows-1252 and cp1252 use that same table (as WHATWG does)
// rather than turning those bytes into U+FFFD. iso-8859-1 maps every byte to
// the code point of the same value. An unknown charset is an error listing
// the supported names.
func Transcode(r io.Reader, charset string) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "", "utf8", "utf8mb4", "utf8mb3", "utf-8", "ascii", "us-ascii", "binary":
		return r, nil
	case "latin1", "windows-1252", "cp1252":
		return &byteTable{r: r, tbl: cp1252Table}, nil
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "l1":
		return &byteTable{r: r, tbl: latin1Table}, nil
	default:
		return nil, fmt.Errorf("charset %q: unsupported (supported: %s)", charset, strings.Join(charsets, ", "))
	}
}

// table maps each byte of a single-byte charset to its UTF-8 encoding.
type table [256]struct {
	n int
	b [3]byte
}

var (
	cp1252Table = newTable(func(b byte) rune {
		if r := charmap.Windows1252.DecodeByte(b); r != utf8.RuneError {
			return r
		}
		return rune(b) // MySQL's latin1: the undefined bytes are C1 controls
	})
	latin1Table = newTable(charmap.ISO8859_1.DecodeByte)
)

func newTable(decode func(byte) rune) *table {
	t := new(table)
	for i := range t {
		t[i].n = utf8.EncodeRune(t[i].b[:], decode(byte(i)))
	}
	return t
}

// byteTable converts a single-byte charset to UTF-8 through a table, which
// is several times faster than a transform.Reader and has no state to get
// wrong across reads.
type byteTable struct {
	r       io.Reader
	tbl     *table
	src     []byte
	pending []byte // converted bytes that did not fit in the caller's buffer
	err     error
}

func (t *byteTable) Read(p []byte) (int, error) {
	if len(t.pending) > 0 {
		n := copy(p, t.pending)
		t.pending = t.pending[n:]
		return n, nil
	}
	if t.err != nil {
		return 0, t.err
	}
	if t.src == nil {
		t.src = make([]byte, 32<<10)
	}
	// Each source byte becomes at most 3 bytes: read a third of p (at
	// least one byte, whose output may then wait in pending).
	want := min(max(len(p)/3, 1), len(t.src))
	n, err := t.r.Read(t.src[:want])
	t.err = err
	out := p[:0]
	for i, c := range t.src[:n] {
		if c < utf8.RuneSelf && len(out) < len(p) {
			out = append(out, c)
			continue
		}
		e := &t.tbl[c]
		if len(out)+e.n > len(p) {
			t.pending = t.convert(t.src[i:n])
			break
		}
		out = append(out, e.b[:e.n]...)
	}
	if len(out) == 0 && len(t.pending) > 0 {
		return t.Read(p)
	}
	return len(out), nil
}

func (t *byteTable) convert(src []byte) []byte {
	var b []byte
	for _, c := range src {
		e := &t.tbl[c]
		b = append(b, e.b[:e.n]...)
	}
	return b
}
