package format

import (
	"bytes"
	"errors"
	"io"
	"unicode/utf8"
)

// errNeedMore is returned by the record parsers when the buffered data ends
// inside a record and more input exists: the caller refills the window and
// parses the record again from its start. Parsers are pure functions of
// (data, atEOF), which keeps them simple to test and restartable.
var errNeedMore = errors.New("need more input")

const (
	initialWindow = 256 << 10
	// windowSlack lets a record of exactly MaxRecordBytes fit together with
	// its terminator and a partial next record.
	windowSlack = 64 << 10
)

// window is a sliding buffer over the input that keeps the record being
// parsed contiguous. It grows by doubling up to the record cap, so memory is
// bounded by the largest record rather than the input size, and re-parsing a
// record after a refill costs O(record) amortised.
type window struct {
	r          io.Reader
	buf        []byte
	start, end int // unparsed data is buf[start:end]
	eof        bool
	err        error // sticky read error
	max        int
	line       int // 1-based line of buf[start]
	col        int // 0-based byte column of buf[start] within its line
	chunk      int // tests: read at most this much per fill, to cut records anywhere
	utf8       bool
	checked    int // with utf8: buf[start:checked] is known to be valid UTF-8
}

func newWindow(r io.Reader, o Options, checkUTF8 bool) *window {
	size := min(initialWindow, o.MaxRecordBytes+windowSlack)
	return &window{r: r, buf: make([]byte, size), max: o.MaxRecordBytes, line: 1, chunk: o.chunk, utf8: checkUTF8}
}

// data returns the unparsed bytes.
func (w *window) data() []byte { return w.buf[w.start:w.end] }

// fill reads more input after the unparsed bytes, first moving them to the
// front and growing the buffer when they fill it. It returns
// ErrRecordTooLarge when the unparsed bytes already exceed the cap, and
// reads until the buffer is full so a long record is re-parsed only once per
// doubling. A read error is returned by the first fill that reads nothing.
func (w *window) fill() error {
	if w.err != nil {
		return w.err
	}
	if w.eof {
		return nil
	}
	n := w.end - w.start
	if w.start > 0 {
		copy(w.buf, w.buf[w.start:w.end])
		w.checked = max(w.checked-w.start, 0)
		w.start, w.end = 0, n
	}
	if w.end == len(w.buf) {
		if n > w.max {
			return ErrRecordTooLarge
		}
		size := min(2*len(w.buf), w.max+windowSlack)
		nb := make([]byte, size)
		copy(nb, w.buf[:w.end])
		w.buf = nb
	}
	empty, read := 0, 0
	for w.end < len(w.buf) && (w.chunk == 0 || read < w.chunk) && !w.eof {
		k, err := w.r.Read(w.buf[w.end:cond(w.chunk > 0, min(w.end+w.chunk-read, len(w.buf)), len(w.buf))])
		w.end += k
		read += k
		if err == io.EOF {
			w.eof = true
		} else if err != nil {
			// Deliver the records read before the error first: a
			// truncated file then fails at the line where it stops.
			w.err = err
			if read == 0 {
				return err
			}
			break
		}
		if k == 0 {
			if empty++; empty > 100 {
				w.err = io.ErrNoProgress
				return w.err
			}
		}
	}
	if w.utf8 {
		w.check()
	}
	return nil
}

// check validates the UTF-8 of the data read and not yet checked, in one
// pass per fill rather than one call per record, stopping before a sequence
// cut by the end of the buffer or at the first invalid byte (whose record
// the parser then checks itself, to report it).
func (w *window) check() {
	from := max(w.checked, w.start)
	d := w.buf[from:w.end]
	if !w.eof {
		d = d[:completeRunes(d)]
	}
	if k := invalidUTF8(d); k >= 0 {
		w.checked = from + k
	} else {
		w.checked = from + len(d)
	}
}

// completeRunes returns the length of d without a UTF-8 sequence cut at its
// end.
func completeRunes(d []byte) int {
	for i := len(d) - 1; i >= 0 && i >= len(d)-3; i-- {
		if c := d[i]; c < utf8.RuneSelf {
			break
		} else if utf8.RuneStart(c) {
			if !utf8.FullRune(d[i:]) {
				return i
			}
			break
		}
	}
	return len(d)
}

// valid reports whether the next n unparsed bytes are known to be valid.
func (w *window) valid(n int) bool { return w.start+n <= w.checked }

// advance consumes n unparsed bytes, keeping the line and column of the
// next byte.
func (w *window) advance(n int) {
	d := w.buf[w.start : w.start+n]
	if nl := bytes.Count(d, nlByte); nl > 0 {
		w.line += nl
		w.col = n - 1 - bytes.LastIndexByte(d, '\n')
	} else {
		w.col += n
	}
	w.start += n
}

var nlByte = []byte{'\n'}

// pos returns the 1-based line and column of the unparsed byte at offset k.
func (w *window) pos(k int) (line, col int) {
	d := w.data()
	k = min(k, len(d))
	nl := bytes.Count(d[:k], nlByte)
	if nl == 0 {
		return w.line, w.col + k + 1
	}
	return w.line + nl, k - bytes.LastIndexByte(d[:k], '\n')
}

// skipBOM drops a UTF-8 byte order mark at the start of the input: Windows
// tools write one, and kept it would end up in the first column name.
func (w *window) skipBOM() error {
	for w.end-w.start < 3 && !w.eof {
		if err := w.fill(); err != nil {
			return err
		}
	}
	if bytes.HasPrefix(w.data(), bom) {
		w.start += len(bom)
	}
	return nil
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// invalidUTF8 returns the offset of the first invalid UTF-8 sequence in d,
// or -1. A sequence cut at the end of d counts as invalid: callers pass
// whole records.
func invalidUTF8(d []byte) int {
	if utf8.Valid(d) {
		return -1
	}
	for i := 0; i < len(d); {
		if d[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(d[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// matchAt reports whether d[i:] starts with s, and whether the answer needs
// more input (d ends inside a possible match and the input goes on).
func matchAt(d []byte, i int, s []byte, atEOF bool) (match, more bool) {
	rest := d[i:]
	if len(rest) >= len(s) {
		return bytes.Equal(rest[:len(s)], s), false
	}
	return false, !atEOF && bytes.HasPrefix(s, rest)
}

// parseError is a parser's error at an offset of the data it was given,
// turned into an *Error by the reader, which knows the line.
type parseError struct {
	off   int
	field int // 0-based, -1 if unknown
	err   error
}

func (e *parseError) Error() string { return e.err.Error() }
