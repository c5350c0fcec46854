package format

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
)

// csvReader decodes RFC 4180 CSV: quoted fields with embedded delimiters and
// line breaks, doubled quotes, "\r\n" or "\n" line ends, with a custom
// delimiter, quote and escape (PostgreSQL's ESCAPE: inside quotes it
// escapes the quote or itself). Blank lines are skipped, as encoding/csv
// does, because a trailing empty line is far more often an accident than a
// one-column row.
type csvReader struct {
	delimited
	delim     []byte
	quote     int // -1: none
	esc       int // -1: none
	lazy      bool
	nullStr   []byte
	hasNull   bool
	nullEmpty bool
	crlf      bool // the terminator is "\n": accept "\r\n" too
	special   [256]bool
	qspecial  [256]bool
	fast      *fastSplit
}

func newCSVReader(r io.Reader, o Options, checkUTF8 bool) (*csvReader, error) {
	c := &csvReader{lazy: o.LazyQuotes, nullEmpty: o.NullEmpty}
	c.delim = []byte(cmp.Or(o.FieldsTerminatedBy, ","))
	c.term = []byte(cmp.Or(o.LinesTerminatedBy, "\n"))
	var err error
	if c.quote, err = single("fields enclosed by", cmp.Or(o.FieldsEnclosedBy, `"`)); err != nil {
		return nil, err
	}
	if c.esc, err = single("fields escaped by", o.FieldsEscapedBy); err != nil {
		return nil, err
	}
	if o.LinesStartingBy != "" {
		return nil, errors.New("csv: lines starting by is not supported (use format text, MySQL's semantics)")
	}
	if bytes.Equal(c.delim, c.term) {
		return nil, fmt.Errorf("fields terminated by and lines terminated by are both %q", c.term)
	}
	if bytes.IndexByte(c.delim, byte(c.quote)) >= 0 || bytes.IndexByte(c.term, byte(c.quote)) >= 0 {
		return nil, fmt.Errorf("csv: the quote %q appears in a terminator", rune(c.quote))
	}
	if o.NullString != "" {
		c.nullStr, c.hasNull = []byte(o.NullString), true
	}
	c.crlf = string(c.term) == "\n"
	c.special[c.delim[0]] = true
	c.special[c.term[0]] = true
	if !c.lazy {
		c.special[c.quote] = true
	}
	c.qspecial[c.quote] = true
	if c.esc >= 0 {
		c.qspecial[c.esc] = true
	}
	if len(c.delim) == 1 && len(c.term) == 1 {
		c.fast = &fastSplit{delim: c.delim[0], sep: string(c.delim), term: c.term[0],
			special: c.quote, quote: c.quote, esc: c.esc, stripCR: c.crlf,
			nullStr: c.nullStr, nullS: string(c.nullStr), hasNull: c.hasNull, nullEmpty: c.nullEmpty, slow: c.slowField}
	}
	c.w = newWindow(r, o, checkUTF8)
	c.checkUTF8 = checkUTF8
	skip := func() (bool, error) {
		_, err := c.next(c, false)
		var e *Error
		if errors.As(err, &e) && !e.Fatal {
			return true, nil // an ignored line may be malformed
		}
		if err == io.EOF {
			return false, nil
		}
		return err == nil, err
	}
	if err := c.header(c, o, skip); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *csvReader) Next() ([]Value, error) { return c.next(c, false) }

// begin skips blank lines.
func (c *csvReader) begin(bool) (bool, error) {
	for {
		d, atEOF := c.w.data(), c.w.eof
		if len(d) == 0 && atEOF {
			return false, nil
		}
		n, more := c.blank(d, atEOF)
		switch {
		case n > 0:
			c.w.advance(n)
			continue
		case !more && len(d) > 0:
			c.line = c.w.line
			return true, nil
		}
		if err := c.w.fill(); err != nil {
			return false, err
		}
	}
}

// blank returns the length of a blank line at the start of d.
func (c *csvReader) blank(d []byte, atEOF bool) (n int, more bool) {
	if c.crlf && len(d) > 0 && d[0] == '\r' {
		if m, more := matchAt(d, 1, c.term, atEOF); m || more {
			return cond(m, 1+len(c.term), 0), more
		}
	}
	m, more := matchAt(d, 0, c.term, atEOF)
	return cond(m, len(c.term), 0), more
}

func (c *csvReader) parse(d []byte, atEOF bool) (int, error) {
	if c.fast != nil {
		return c.fastParse(d, atEOF, c.fast)
	}
	c.out = c.out[:0]
	c.fields = c.fields[:0]
	i := 0
	for {
		f := field{rawStart: i}
		var eol bool
		var err error
		if i, eol, err = c.field(d, i, atEOF, &f); err != nil {
			return 0, err
		}
		f.end = len(c.out)
		c.fields = append(c.fields, f)
		if eol {
			return i, nil
		}
	}
}

// field decodes the field at d[i], quoted or not.
func (c *csvReader) field(d []byte, i int, atEOF bool, f *field) (int, bool, error) {
	if i < len(d) && int(d[i]) == c.quote {
		return c.quoted(d, i, atEOF, f)
	}
	return c.unquoted(d, i, atEOF, f)
}

func (c *csvReader) slowField(d []byte, i int, atEOF bool) (field, int, bool, error) {
	f := field{rawStart: i}
	next, eol, err := c.field(d, i, atEOF, &f)
	return f, next, eol, err
}

func (c *csvReader) unquoted(d []byte, i int, atEOF bool, f *field) (int, bool, error) {
	for {
		j := i
		for j < len(d) && !c.special[d[j]] {
			j++
		}
		c.out = append(c.out, d[i:j]...)
		i = j
		if i == len(d) {
			if !atEOF {
				return 0, false, errNeedMore
			}
			c.endUnquoted(d, i, false, f)
			return i, true, nil
		}
		switch ch := d[i]; {
		case ch == c.term[0]:
			m, more := matchAt(d, i, c.term, atEOF)
			if more {
				return 0, false, errNeedMore
			}
			if m {
				c.endUnquoted(d, i, true, f)
				return i + len(c.term), true, nil
			}
		case ch == c.delim[0]:
			m, more := matchAt(d, i, c.delim, atEOF)
			if more {
				return 0, false, errNeedMore
			}
			if m {
				c.endUnquoted(d, i, false, f)
				return i + len(c.delim), false, nil
			}
		case int(ch) == c.quote:
			return 0, false, &parseError{off: i, field: len(c.fields), err: ErrBareQuote}
		}
		c.out = append(c.out, d[i])
		i++
	}
}

// endUnquoted closes an unquoted field ending at raw offset i: it drops the
// '\r' of a "\r\n" line end and decides whether the field is NULL.
func (c *csvReader) endUnquoted(d []byte, i int, atTerm bool, f *field) {
	if c.crlf && atTerm && i > f.rawStart && d[i-1] == '\r' {
		c.out = c.out[:len(c.out)-1]
		i--
	}
	f.rawEnd = i
	raw := d[f.rawStart:i]
	f.null = (c.hasNull && bytes.Equal(raw, c.nullStr)) || (c.nullEmpty && len(raw) == 0)
}

func (c *csvReader) quoted(d []byte, i int, atEOF bool, f *field) (int, bool, error) {
	open := i
	i++
	for {
		j := i
		for j < len(d) && !c.qspecial[d[j]] {
			j++
		}
		c.out = append(c.out, d[i:j]...)
		i = j
		if i == len(d) {
			if !atEOF {
				return 0, false, errNeedMore
			}
			return 0, false, &parseError{off: open, field: len(c.fields), err: ErrUnterminatedQuote}
		}
		if i+1 == len(d) && !atEOF {
			return 0, false, errNeedMore
		}
		ch := d[i]
		if int(ch) == c.esc && c.esc != c.quote {
			// An escape before the quote or itself keeps that byte;
			// before anything else it is data (PostgreSQL).
			if i+1 < len(d) && (int(d[i+1]) == c.quote || int(d[i+1]) == c.esc) {
				i++
			}
			c.out = append(c.out, d[i])
			i++
			continue
		}
		if i+1 < len(d) && int(d[i+1]) == c.quote {
			c.out = append(c.out, ch) // doubled quote
			i += 2
			continue
		}
		end, eol, err := c.closeQuote(d, i+1, atEOF, len(c.fields))
		if err != nil {
			return 0, false, err
		}
		if end >= 0 {
			f.rawEnd = i + 1
			return end, eol, nil
		}
		c.out = append(c.out, ch) // lazy: a stray quote is data
		i++
	}
}

// closeQuote checks what follows a closing quote at d[i]: the end of the
// input, a line end or a delimiter. end is -1 when the quote is data
// (LazyQuotes).
func (c *csvReader) closeQuote(d []byte, i int, atEOF bool, fieldIdx int) (end int, eol bool, err error) {
	if i == len(d) {
		return i, true, nil
	}
	if n, more := c.blank(d[i:], atEOF); more {
		return 0, false, errNeedMore
	} else if n > 0 {
		return i + n, true, nil
	}
	if m, more := matchAt(d, i, c.delim, atEOF); more {
		return 0, false, errNeedMore
	} else if m {
		return i + len(c.delim), false, nil
	}
	if c.lazy {
		return -1, false, nil
	}
	return 0, false, &parseError{off: i, field: fieldIdx, err: ErrQuote}
}

func cond(ok bool, a, b int) int {
	if ok {
		return a
	}
	return b
}
