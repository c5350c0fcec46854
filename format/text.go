package format

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
)

// textReader decodes MySQL's LOAD DATA TEXT format and, with pg set, TSV.
//
// TEXT follows MySQL exactly: escapes \0 \b \n \r \t \Z \\ and \N (NULL only
// when it is the whole field), an escape before any other byte keeps that
// byte (so an escaped delimiter or terminator is data), optional ENCLOSED BY
// with MySQL's rules (a quote ends the field only when followed by a
// delimiter or terminator, doubled quotes, the unquoted word NULL is NULL),
// LINES STARTING BY, and multi-byte delimiters and terminators.
//
// TSV is PostgreSQL's COPY text format: tab-separated, no quoting, escapes
// \b \f \n \r \t \v, octal \ooo and hex \xhh, \N for NULL, and lines ending
// in "\r\n" as well as "\n". It was chosen over the IANA TSV (which has no
// way to write a tab, newline or NULL in a value) because it is what
// PostgreSQL writes and reads.
type textReader struct {
	delimited
	pg       bool
	delim    []byte
	prefix   []byte
	esc, enc int    // -1: none
	nullStr  []byte // nil: the \N rule
	stripCR  bool
	special  [256]bool // bytes that stop a run in an unquoted field
	qspecial [256]bool // bytes that stop a run in a quoted field
	fast     *fastSplit
}

func newTextReader(r io.Reader, o Options, pg, checkUTF8 bool) (*textReader, error) {
	t := &textReader{pg: pg}
	t.delim = []byte(cmp.Or(o.FieldsTerminatedBy, "\t"))
	t.term = []byte(cmp.Or(o.LinesTerminatedBy, "\n"))
	var err error
	t.esc = -1
	if !o.NoEscape {
		if t.esc, err = single("fields escaped by", cmp.Or(o.FieldsEscapedBy, `\`)); err != nil {
			return nil, err
		}
	}
	if t.enc, err = single("fields enclosed by", o.FieldsEnclosedBy); err != nil {
		return nil, err
	}
	if pg && (t.enc >= 0 || o.LinesStartingBy != "") {
		return nil, errors.New("tsv: no quoting and no lines starting by (use text or csv)")
	}
	if bytes.Equal(t.delim, t.term) {
		return nil, fmt.Errorf("fields terminated by and lines terminated by are both %q", t.term)
	}
	if o.LinesStartingBy != "" {
		t.prefix = []byte(o.LinesStartingBy)
	}
	if o.NullString != "" {
		t.nullStr = []byte(o.NullString)
	}
	t.stripCR = pg && string(t.term) == "\n"
	t.special[t.delim[0]] = true
	t.special[t.term[0]] = true
	if t.esc >= 0 {
		t.special[t.esc] = true
		t.qspecial[t.esc] = true
	}
	if t.enc >= 0 {
		t.qspecial[t.enc] = true
	}
	if len(t.delim) == 1 && len(t.term) == 1 && t.enc < 0 && t.esc != int(t.delim[0]) && t.esc != int(t.term[0]) {
		t.fast = &fastSplit{delim: t.delim[0], sep: string(t.delim), term: t.term[0],
			special: t.esc, quote: -1, esc: t.esc, stripCR: t.stripCR,
			nullStr: t.nullStr, nullS: string(t.nullStr), hasNull: t.nullStr != nil, slow: t.slowField}
	}
	t.w = newWindow(r, o, checkUTF8)
	t.checkUTF8 = checkUTF8
	if err := t.header(t, o, t.skipLine); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *textReader) Next() ([]Value, error) { return t.next(t, true) }

func (t *textReader) begin(usePrefix bool) (bool, error) {
	for {
		d := t.w.data()
		switch {
		case !usePrefix || t.prefix == nil:
			if len(d) > 0 {
				t.line = t.w.line
				return true, nil
			}
			if t.w.eof {
				return false, nil
			}
		case bytes.Index(d, t.prefix) >= 0:
			// MySQL scans for the prefix across line ends: what comes
			// before it, including whole lines without it, is skipped.
			t.w.advance(bytes.Index(d, t.prefix))
			t.line = t.w.line
			t.w.advance(len(t.prefix))
			return true, nil
		case t.w.eof:
			t.w.advance(len(d))
			return false, nil
		default:
			if keep := len(t.prefix) - 1; len(d) > keep {
				t.w.advance(len(d) - keep)
			}
		}
		if err := t.w.fill(); err != nil {
			return false, err
		}
	}
}

// skipLine skips one line for IGNORE n LINES the way MySQL's next_line
// does: up to an unescaped terminator, ignoring quotes and the prefix.
func (t *textReader) skipLine() (bool, error) {
	for {
		d, atEOF := t.w.data(), t.w.eof
		if len(d) == 0 && atEOF {
			return false, nil
		}
		n, err := t.lineEnd(d, atEOF)
		if err == nil {
			t.w.advance(n)
			return true, nil
		}
		if err := t.w.fill(); err != nil {
			return false, err
		}
	}
}

func (t *textReader) lineEnd(d []byte, atEOF bool) (int, error) {
	for i := 0; i < len(d); i++ {
		switch c := d[i]; {
		case int(c) == t.esc:
			i++ // the escaped byte, whatever it is
		case c == t.term[0]:
			m, more := matchAt(d, i, t.term, atEOF)
			if more {
				return 0, errNeedMore
			}
			if m {
				return i + len(t.term), nil
			}
		}
	}
	if atEOF {
		return len(d), nil
	}
	return 0, errNeedMore
}

func (t *textReader) parse(d []byte, atEOF bool) (int, error) {
	if t.fast != nil {
		return t.fastParse(d, atEOF, t.fast)
	}
	t.out = t.out[:0]
	t.fields = t.fields[:0]
	i := 0
	for {
		f := field{rawStart: i}
		var eol bool
		var err error
		if t.enc >= 0 && i < len(d) && int(d[i]) == t.enc {
			i, eol, err = t.quoted(d, i, atEOF, &f)
		} else {
			i, eol, err = t.unquoted(d, i, atEOF, &f)
		}
		if err != nil {
			return 0, err
		}
		f.end = len(t.out)
		t.fields = append(t.fields, f)
		if eol {
			return i, nil
		}
	}
}

func (t *textReader) slowField(d []byte, i int, atEOF bool) (field, int, bool, error) {
	f := field{rawStart: i}
	next, eol, err := t.unquoted(d, i, atEOF, &f)
	return f, next, eol, err
}

// unquoted decodes a field starting at d[i] and returns the offset after
// its delimiter or terminator, and whether it ended the record.
func (t *textReader) unquoted(d []byte, i int, atEOF bool, f *field) (int, bool, error) {
	outStart, escEnd, sawN := len(t.out), i, false
	for {
		j := i
		for j < len(d) && !t.special[d[j]] {
			j++
		}
		t.out = append(t.out, d[i:j]...)
		i = j
		if i == len(d) {
			if !atEOF {
				return 0, false, errNeedMore
			}
			t.endUnquoted(d, i, outStart, escEnd, sawN, false, f)
			return i, true, nil
		}
		c := d[i]
		if int(c) == t.esc {
			n, null, err := t.unescape(d, i, atEOF, f)
			if err != nil {
				return 0, false, err
			}
			i += n
			escEnd, sawN = i, sawN || null
			continue
		}
		if c == t.term[0] {
			m, more := matchAt(d, i, t.term, atEOF)
			if more {
				return 0, false, errNeedMore
			}
			if m {
				t.endUnquoted(d, i, outStart, escEnd, sawN, true, f)
				return i + len(t.term), true, nil
			}
		}
		if c == t.delim[0] {
			m, more := matchAt(d, i, t.delim, atEOF)
			if more {
				return 0, false, errNeedMore
			}
			if m {
				t.endUnquoted(d, i, outStart, escEnd, sawN, false, f)
				return i + len(t.delim), false, nil
			}
		}
		t.out = append(t.out, c)
		i++
	}
}

// endUnquoted closes an unquoted field ending at raw offset i: it drops the
// '\r' of a "\r\n" line end (TSV) and decides whether the field is NULL.
func (t *textReader) endUnquoted(d []byte, i, outStart, escEnd int, sawN, atTerm bool, f *field) {
	if t.stripCR && atTerm && i > escEnd && d[i-1] == '\r' {
		t.out = t.out[:len(t.out)-1]
		i--
	}
	f.rawEnd = i
	text := t.out[outStart:]
	switch {
	case t.nullStr != nil:
		f.null = bytes.Equal(d[f.rawStart:i], t.nullStr)
	case sawN && len(text) == 1:
		f.null = true // MySQL: \N is NULL only as the whole field
	case t.enc >= 0 && string(text) == "NULL":
		f.null = true // MySQL: with ENCLOSED BY, an unquoted NULL is NULL
	}
}

// quoted decodes a field enclosed by t.enc starting at d[i], with MySQL's
// rules: the closing quote must be followed by a delimiter, a terminator or
// the end of the input, otherwise it is data.
func (t *textReader) quoted(d []byte, i int, atEOF bool, f *field) (int, bool, error) {
	open, outStart, sawN := i, len(t.out), false
	enc := byte(t.enc)
	i++
	for {
		j := i
		for j < len(d) && !t.qspecial[d[j]] {
			j++
		}
		t.out = append(t.out, d[i:j]...)
		i = j
		if i == len(d) {
			if !atEOF {
				return 0, false, errNeedMore
			}
			return 0, false, &parseError{off: open, field: len(t.fields), err: ErrUnterminatedQuote}
		}
		if int(d[i]) == t.esc && t.esc != t.enc {
			n, null, err := t.unescape(d, i, atEOF, f)
			if err != nil {
				return 0, false, err
			}
			i, sawN = i+n, sawN || null
			continue
		}
		if i+1 == len(d) && !atEOF {
			return 0, false, errNeedMore
		}
		end, eol, ok := t.closeQuote(d, i+1, atEOF)
		if end < 0 {
			return 0, false, errNeedMore
		}
		if ok {
			f.rawEnd = i + 1
			f.null = sawN && len(t.out)-outStart == 1
			return end, eol, nil
		}
		if i+1 < len(d) && d[i+1] == enc {
			i++ // a doubled quote (or an escape equal to the quote)
		}
		t.out = append(t.out, enc)
		i++
	}
}

// closeQuote reports whether a quote before d[i] closes the field: at the
// end of the input, or before a terminator or delimiter (checked in MySQL's
// order). end is the offset after them, or -1 when more input is needed.
func (t *textReader) closeQuote(d []byte, i int, atEOF bool) (end int, eol, ok bool) {
	if i == len(d) {
		return i, true, true
	}
	if d[i] == byte(t.enc) {
		return 0, false, false
	}
	if m, more := matchAt(d, i, t.term, atEOF); more {
		return -1, false, false
	} else if m {
		return i + len(t.term), true, true
	}
	if m, more := matchAt(d, i, t.delim, atEOF); more {
		return -1, false, false
	} else if m {
		return i + len(t.delim), false, true
	}
	return 0, false, false
}

// unescape decodes the escape sequence at d[i] into t.out and returns its
// raw length and whether it was \N.
func (t *textReader) unescape(d []byte, i int, atEOF bool, f *field) (int, bool, error) {
	if i+1 == len(d) {
		if !atEOF {
			return 0, false, errNeedMore
		}
		t.out = append(t.out, d[i]) // MySQL keeps an escape at the very end
		return 1, false, nil
	}
	c := d[i+1]
	if t.esc == t.enc && int(c) != t.esc {
		// MySQL: an escape equal to the quote escapes only itself.
		t.out = append(t.out, d[i])
		return 1, false, nil
	}
	if t.pg {
		return t.unescapePG(d, i, atEOF, f)
	}
	switch c {
	case '0':
		c = 0
	case 'b':
		c = '\b'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'Z':
		c = 032
	}
	t.out = append(t.out, c)
	return 2, d[i+1] == 'N', nil
}

// unescapePG decodes PostgreSQL's text-format escapes.
func (t *textReader) unescapePG(d []byte, i int, atEOF bool, f *field) (int, bool, error) {
	c := d[i+1]
	switch c {
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'v':
		c = '\v'
	case '0', '1', '2', '3', '4', '5', '6', '7', 'x':
		return t.numericEscape(d, i, atEOF, f)
	}
	t.out = append(t.out, c)
	return 2, c == 'N', nil
}

// numericEscape decodes \ooo (one to three octal digits) or \xhh (one or
// two hex digits; \x alone is "x"), as PostgreSQL does.
func (t *textReader) numericEscape(d []byte, i int, atEOF bool, f *field) (int, bool, error) {
	base, maxDigits, j := 8, 3, i+1
	if d[j] == 'x' {
		base, maxDigits, j = 16, 2, j+1
	}
	start := j
	v := 0
	for j < len(d) && j-start < maxDigits {
		dv := digitVal(d[j])
		if dv < 0 || dv >= base {
			break
		}
		v = v*base + dv
		j++
	}
	if j == len(d) && j-start < maxDigits && !atEOF {
		return 0, false, errNeedMore
	}
	if j == start { // \x without digits
		t.out = append(t.out, 'x')
		return 2, false, nil
	}
	b := byte(v) // PostgreSQL keeps the low byte of \777
	f.high = f.high || b >= 0x80
	t.out = append(t.out, b)
	return j - i, false, nil
}

func digitVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
