// Package delimited writes typed rows as csv or text files: RFC 4180 CSV
// with PostgreSQL's NULL (an empty unquoted field), or MySQL's
// SELECT … INTO OUTFILE text with backslash escapes and \N, in any
// dialect of the FIELDS and LINES clauses. format's Reader reads both
// back.
package delimited

import (
	"bytes"
	"io"

	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/format/internal/convert"
	"github.com/s3bridge/s3bridge/tuple"
)

// Dialect is how a Writer separates, quotes and escapes fields: the
// FIELDS and LINES clauses with their defaults applied. The terminators
// must be non-empty, and neither may hold the quote or, other than the
// quote, the escape: a reader could not tell them apart.
type Dialect struct {
	// CSV quotes as RFC 4180 does, where a field needs it (or always), and
	// writes NULL as nothing; otherwise fields are escaped as MySQL's text
	// format and NULL is \N (the word NULL without an escape).
	CSV bool
	// FieldsTerminatedBy separates fields.
	FieldsTerminatedBy string
	// FieldsEnclosedBy is the quote; 0 for none, which csv can't have.
	FieldsEnclosedBy byte
	// AlwaysEnclosed quotes every non-NULL field (ENCLOSED BY without
	// OPTIONALLY); otherwise csv quotes where needed and text quotes
	// string columns.
	AlwaysEnclosed bool
	// FieldsEscapedBy is the escape; 0 for none. In csv it escapes the
	// quote and itself inside quotes, and the quote itself means quotes
	// are doubled.
	FieldsEscapedBy byte
	// LinesStartingBy starts every line.
	LinesStartingBy string
	// LinesTerminatedBy ends every line.
	LinesTerminatedBy string
}

// Writer writes csv or text rows.
type Writer struct {
	d    Dialect
	cols []tuple.Column
	// quoted says, per column, whether OPTIONALLY ENCLOSED BY quotes it:
	// MySQL quotes string columns only.
	quoted []bool
	header bool
	w      io.Writer
	buf    []byte
	field  []byte
}

var _ format.RowWriter = (*Writer)(nil)

// NewWriter returns a Writer of rows with the columns cols in dialect d;
// with header, every file starts with a line of the column names.
func NewWriter(d Dialect, cols []tuple.Column, header bool) *Writer {
	e := &Writer{d: d, cols: cols, header: header, quoted: make([]bool, len(cols))}
	for i, c := range cols {
		// Times of day, UUIDs and arrays were text columns before they
		// had types of their own, and are quoted as they were.
		switch c.Type {
		case tuple.TypeText, tuple.TypeBytes, tuple.TypeJSON, tuple.TypeUnknown, tuple.TypeTime, tuple.TypeUUID, tuple.TypeList:
			e.quoted[i] = true
		}
	}
	return e
}

// Begin starts a file on w with the header line, if asked for.
func (e *Writer) Begin(w io.Writer) error {
	e.w = w
	if !e.header {
		return nil
	}
	e.buf = append(e.buf[:0], e.d.LinesStartingBy...)
	for i, c := range e.cols {
		if i > 0 {
			e.buf = append(e.buf, e.d.FieldsTerminatedBy...)
		}
		e.buf = e.appendField(e.buf, []byte(c.Name), e.d.AlwaysEnclosed || e.quoted[i])
	}
	e.buf = append(e.buf, e.d.LinesTerminatedBy...)
	_, err := w.Write(e.buf)
	return err
}

// Write writes a row as one line.
func (e *Writer) Write(row []tuple.Value) error {
	e.buf = append(e.buf[:0], e.d.LinesStartingBy...)
	for i, v := range row {
		if i > 0 {
			e.buf = append(e.buf, e.d.FieldsTerminatedBy...)
		}
		if v.Kind == tuple.Null {
			e.buf = e.appendNull(e.buf)
			continue
		}
		e.field = convert.AppendText(e.field[:0], v, e.cols[i])
		e.buf = e.appendField(e.buf, e.field, e.d.AlwaysEnclosed || e.d.CSV || e.quoted[i])
	}
	e.buf = append(e.buf, e.d.LinesTerminatedBy...)
	_, err := e.w.Write(e.buf)
	return err
}

// End does nothing: every line is written whole.
func (e *Writer) End() error { return nil }

// Buffered is 0: every line is written whole.
func (e *Writer) Buffered() int64 { return 0 }

// appendNull writes NULL: nothing in csv (so "" is an empty string, as in
// PostgreSQL's COPY), \N in text, or the word NULL when text has no escape
// character (MySQL's rule).
func (e *Writer) appendNull(dst []byte) []byte {
	switch {
	case e.d.CSV:
		return dst
	case e.d.FieldsEscapedBy != 0:
		return append(dst, e.d.FieldsEscapedBy, 'N')
	}
	return append(dst, "NULL"...)
}

// appendField writes one non-NULL field. mayQuote says whether this
// column's fields are quoted (always, or in csv when needed).
func (e *Writer) appendField(dst, s []byte, mayQuote bool) []byte {
	if e.d.CSV {
		if !e.d.AlwaysEnclosed && !e.csvNeedsQuotes(s) {
			return append(dst, s...)
		}
		return e.appendCSVQuoted(dst, s)
	}
	enclose := e.d.FieldsEnclosedBy != 0 && mayQuote
	if enclose {
		dst = append(dst, e.d.FieldsEnclosedBy)
	}
	dst = e.appendTextEscaped(dst, s, enclose)
	if enclose {
		dst = append(dst, e.d.FieldsEnclosedBy)
	}
	return dst
}

// csvNeedsQuotes: a field is quoted when it holds a quote, a terminator's
// first byte, a line break, or nothing (an empty string, told from NULL),
// and when it is \. (which PostgreSQL's COPY FROM reads as end of data).
func (e *Writer) csvNeedsQuotes(s []byte) bool {
	if len(s) == 0 || (len(s) == 2 && s[0] == '\\' && s[1] == '.') {
		return true
	}
	for _, c := range s {
		if c == e.d.FieldsEnclosedBy || c == e.d.FieldsEscapedBy || c == '\n' || c == '\r' || c == e.d.FieldsTerminatedBy[0] || c == e.d.LinesTerminatedBy[0] {
			return true
		}
	}
	return e.d.LinesStartingBy != "" && bytes.HasPrefix(s, []byte(e.d.LinesStartingBy))
}

func (e *Writer) appendCSVQuoted(dst, s []byte) []byte {
	q, esc := e.d.FieldsEnclosedBy, e.d.FieldsEscapedBy
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
func (e *Writer) appendTextEscaped(dst, s []byte, enclosed bool) []byte {
	esc, quote := e.d.FieldsEscapedBy, e.d.FieldsEnclosedBy
	if esc == 0 {
		for _, c := range s {
			if enclosed && c == quote {
				dst = append(dst, c)
			}
			dst = append(dst, c)
		}
		return dst
	}
	for _, c := range s {
		switch {
		case c == esc || (c == quote && quote != 0):
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
		case !enclosed && (c == e.d.FieldsTerminatedBy[0] || c == e.d.LinesTerminatedBy[0]):
			dst = append(dst, esc, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
