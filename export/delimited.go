package export

import (
	"bytes"
	"fmt"
	"github.com/s3bridge/s3bridge/tuple"
	"io"
	"strconv"
	"strings"
)

// delimiter is the resolved FIELDS and LINES clauses of a csv or text
// export.
type delimiter struct {
	csv       bool
	term      string // between fields; never empty
	enclose   byte   // 0: none
	always    bool   // enclose every non-NULL field (ENCLOSED BY without OPTIONALLY)
	escape    byte   // 0: none
	lineStart string
	lineEnd   string // never empty
}

// newDelimiter applies the format's defaults to the clauses given: text is
// MySQL's (tab, newline, backslash escapes, \N for NULL, no quotes), csv is
// RFC 4180 (comma, newline, quotes only where needed and doubled inside).
func newDelimiter(format string, f Fields) (delimiter, error) {
	d := delimiter{csv: format == FormatCSV, term: "\t", escape: '\\', lineEnd: "\n"}
	if d.csv {
		d.term, d.enclose = ",", '"'
	}
	pick := func(p *string, def string) string {
		if p != nil {
			return *p
		}
		return def
	}
	d.term = pick(f.TerminatedBy, d.term)
	d.lineStart = pick(f.LinesStartingBy, "")
	d.lineEnd = pick(f.LinesTerminatedBy, d.lineEnd)
	var err error
	if f.EnclosedBy != nil {
		if d.enclose, err = oneByte("FIELDS ENCLOSED BY", *f.EnclosedBy); err != nil {
			return d, err
		}
		d.always = !f.Optionally
	}
	if d.csv {
		// RFC 4180 doubles the quote; ESCAPED BY 'c' makes c escape the quote
		// and itself inside quotes instead (PostgreSQL's ESCAPE).
		d.escape = d.enclose
	}
	if f.EscapedBy != nil && *f.EscapedBy != "" || !d.csv && f.EscapedBy != nil {
		if d.escape, err = oneByte("FIELDS ESCAPED BY", *f.EscapedBy); err != nil {
			return d, err
		}
	}
	switch {
	case d.term == "":
		return d, fmt.Errorf("FIELDS TERMINATED BY '': fixed-width output is not supported")
	case d.lineEnd == "":
		return d, fmt.Errorf("LINES TERMINATED BY '': rows need a terminator")
	case d.csv && d.enclose == 0:
		return d, fmt.Errorf("FORMAT CSV needs a quote character (FIELDS ENCLOSED BY)")
	case d.enclose != 0 && strings.IndexByte(d.term+d.lineEnd, d.enclose) >= 0:
		return d, fmt.Errorf("the quote character %q is also in a terminator", d.enclose)
	case d.escape != 0 && d.escape != d.enclose && strings.IndexByte(d.term+d.lineEnd, d.escape) >= 0:
		return d, fmt.Errorf("the escape character %q is also in a terminator", d.escape)
	}
	if !d.csv && d.escape != 0 {
		// The escape turns these letters into control characters on input
		// (\n is a newline), so a terminator starting with one could not be
		// told from an escaped character.
		for _, t := range []string{d.term, d.lineEnd} {
			if strings.IndexByte("0bnrtZN", t[0]) >= 0 {
				return d, fmt.Errorf("terminator %q starts with %q, which reads as an escape sequence after %q", t, t[0], d.escape)
			}
		}
	}
	return d, nil
}

func oneByte(clause, s string) (byte, error) {
	switch len(s) {
	case 0:
		return 0, nil
	case 1:
		return s[0], nil
	}
	return 0, fmt.Errorf("%s %q: must be a single byte or empty", clause, s)
}

// delimitedEncoder writes csv or text rows.
type delimitedEncoder struct {
	d    delimiter
	cols []tuple.Column
	// quoted says, per column, whether OPTIONALLY ENCLOSED BY quotes it:
	// MySQL quotes string columns only.
	quoted []bool
	header bool
	w      io.Writer
	buf    []byte
	field  []byte
}

func newDelimitedEncoder(d delimiter, cols []tuple.Column, header bool) *delimitedEncoder {
	e := &delimitedEncoder{d: d, cols: cols, header: header, quoted: make([]bool, len(cols))}
	for i, c := range cols {
		e.quoted[i] = c.Type == tuple.TypeText || c.Type == tuple.TypeBytes || c.Type == tuple.TypeJSON || c.Type == tuple.TypeUnknown
	}
	return e
}

func (e *delimitedEncoder) begin(w io.Writer) error {
	e.w = w
	if !e.header {
		return nil
	}
	e.buf = append(e.buf[:0], e.d.lineStart...)
	for i, c := range e.cols {
		if i > 0 {
			e.buf = append(e.buf, e.d.term...)
		}
		e.buf = e.appendField(e.buf, []byte(c.Name), e.d.always || e.quoted[i])
	}
	e.buf = append(e.buf, e.d.lineEnd...)
	_, err := w.Write(e.buf)
	return err
}

func (e *delimitedEncoder) write(row []tuple.Value) error {
	e.buf = append(e.buf[:0], e.d.lineStart...)
	for i, v := range row {
		if i > 0 {
			e.buf = append(e.buf, e.d.term...)
		}
		if v.Kind == tuple.Null {
			e.buf = e.appendNull(e.buf)
			continue
		}
		e.field = appendText(e.field[:0], v, e.cols[i])
		e.buf = e.appendField(e.buf, e.field, e.d.always || e.d.csv || e.quoted[i])
	}
	e.buf = append(e.buf, e.d.lineEnd...)
	_, err := e.w.Write(e.buf)
	return err
}

func (e *delimitedEncoder) end() error      { return nil }
func (e *delimitedEncoder) buffered() int64 { return 0 }

// appendNull writes NULL: nothing in csv (so "" is an empty string, as in
// PostgreSQL's COPY), \N in text, or the word NULL when text has no escape
// character (MySQL's rule).
func (e *delimitedEncoder) appendNull(dst []byte) []byte {
	switch {
	case e.d.csv:
		return dst
	case e.d.escape != 0:
		return append(dst, e.d.escape, 'N')
	}
	return append(dst, "NULL"...)
}

// appendField writes one non-NULL field. mayQuote says whether this
// column's fields are quoted (always, or in csv when needed).
func (e *delimitedEncoder) appendField(dst, s []byte, mayQuote bool) []byte {
	if e.d.csv {
		if !e.d.always && !e.csvNeedsQuotes(s) {
			return append(dst, s...)
		}
		return e.appendCSVQuoted(dst, s)
	}
	enclose := e.d.enclose != 0 && mayQuote
	if enclose {
		dst = append(dst, e.d.enclose)
	}
	dst = e.appendTextEscaped(dst, s, enclose)
	if enclose {
		dst = append(dst, e.d.enclose)
	}
	return dst
}

// csvNeedsQuotes: a field is quoted when it holds a quote, a terminator's
// first byte, a line break, or nothing (an empty string, told from NULL),
// and when it is \. (which PostgreSQL's COPY FROM reads as end of data).
func (e *delimitedEncoder) csvNeedsQuotes(s []byte) bool {
	if len(s) == 0 || (len(s) == 2 && s[0] == '\\' && s[1] == '.') {
		return true
	}
	for _, c := range s {
		if c == e.d.enclose || c == e.d.escape || c == '\n' || c == '\r' || c == e.d.term[0] || c == e.d.lineEnd[0] {
			return true
		}
	}
	return e.d.lineStart != "" && bytes.HasPrefix(s, []byte(e.d.lineStart))
}

func (e *delimitedEncoder) appendCSVQuoted(dst, s []byte) []byte {
	q, esc := e.d.enclose, e.d.escape
	dst = append(dst, q)
	for _, c := range s {
		if c == q || (c == esc && esc != q) {
			dst = append(dst, esc)
		}
		dst = append(dst, c)
	}
	return append(dst, q)
}

// appendTextEscaped escapes as MySQL's SELECT … INTO OUTFILE does, but
// writes control characters as letters (\n, \t, \r, \0, \b) so every row
// stays on one line: MySQL's LOAD DATA and PostgreSQL's COPY read both.
// Without an escape character nothing is escaped and a quote inside a
// quoted field is doubled.
func (e *delimitedEncoder) appendTextEscaped(dst, s []byte, enclosed bool) []byte {
	esc := e.d.escape
	if esc == 0 {
		for _, c := range s {
			if enclosed && c == e.d.enclose {
				dst = append(dst, c)
			}
			dst = append(dst, c)
		}
		return dst
	}
	for _, c := range s {
		switch {
		case c == esc || (c == e.d.enclose && e.d.enclose != 0):
			dst = append(dst, esc, c)
		case c == 0:
			dst = append(dst, esc, '0')
		case c == '\n':
			dst = append(dst, esc, 'n')
		case c == '\r':
			dst = append(dst, esc, 'r')
		case c == '\t':
			dst = append(dst, esc, 't')
		case c == '\b':
			dst = append(dst, esc, 'b')
		case !enclosed && (c == e.d.term[0] || c == e.d.lineEnd[0]):
			dst = append(dst, esc, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendText writes a value in the text form the delimited formats use:
// the database's own text when it sent text, else numbers as Go prints
// them exactly, times as MySQL prints them.
func appendText(dst []byte, v tuple.Value, c tuple.Column) []byte {
	switch v.Kind {
	case tuple.Text, tuple.Bytes:
		return append(dst, v.Bytes...)
	case tuple.Int:
		if c.Type == tuple.TypeUint64 {
			return strconv.AppendUint(dst, uint64(v.Int), 10)
		}
		return strconv.AppendInt(dst, v.Int, 10)
	case tuple.Float:
		bits := 64
		if c.Type == tuple.TypeFloat32 {
			bits = 32
		}
		return strconv.AppendFloat(dst, v.Float, 'g', -1, bits)
	case tuple.Bool:
		if v.Int != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case tuple.Time:
		return appendSQLTime(dst, v, c)
	}
	return dst
}

// appendSQLTime prints a date as 2006-01-02 and a timestamp as
// 2006-01-02 15:04:05 with the column's fractional digits (all six, less
// trailing zeros, when the column doesn't say).
func appendSQLTime(dst []byte, v tuple.Value, c tuple.Column) []byte {
	t := v.Time
	if c.Type == tuple.TypeDate {
		return t.AppendFormat(dst, "2006-01-02")
	}
	switch {
	case c.Scale > 0 && c.Scale <= 6:
		return t.AppendFormat(dst, "2006-01-02 15:04:05."+strings.Repeat("0", c.Scale))
	case c.Scale == 0 && (c.Type == tuple.TypeTimestamp || c.Type == tuple.TypeTimestampTZ) && t.Nanosecond() == 0:
		return t.AppendFormat(dst, "2006-01-02 15:04:05")
	}
	return t.AppendFormat(dst, "2006-01-02 15:04:05.999999")
}
