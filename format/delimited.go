package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// rowParser is what the TEXT/TSV and CSV readers plug into delimited.
type rowParser interface {
	// begin moves the window to the start of the next record (past a LINES
	// STARTING BY prefix, or blank CSV lines) and sets delimited.line; it
	// returns false at the end of the input.
	begin(usePrefix bool) (bool, error)
	// parse decodes one record from d into delimited.out/fields and returns
	// the bytes it consumed, errNeedMore, or a *parseError.
	parse(d []byte, atEOF bool) (int, error)
}

// field is one decoded field: its text is out[previous end:end].
type field struct {
	end      int  // end offset in out
	rawStart int  // offsets in the parsed data, for errors and NullString
	rawEnd   int  //
	null     bool //
	high     bool // an escape produced a non-ASCII byte: validate the text
}

// delimited holds what the line-oriented readers share: the window, the
// decoded record and the Next/error/resynchronisation logic.
type delimited struct {
	w         *window
	term      []byte // resynchronisation point after a bad record
	checkUTF8 bool
	out       []byte  // the current record's decoded text, fields back to back
	fields    []field //
	vals      []Value
	cols      []string
	line      int
	err       error      // sticky fatal error
	inRecord  bool       // begin ran; the record is being parsed
	plain     *fastSplit // set by plainLine: vals is built, fields is not
	oneLine   bool       // the record is one '\n'-terminated line
}

func (r *delimited) Columns() []string { return r.cols }
func (r *delimited) Line() int         { return r.line }

func (r *delimited) next(p rowParser, usePrefix bool) ([]Value, error) {
	if r.err != nil {
		return nil, r.err
	}
	if !r.inRecord {
		ok, err := p.begin(usePrefix)
		if err != nil {
			return nil, r.readError(err)
		}
		if !ok {
			return nil, io.EOF
		}
		r.inRecord = true
	}
	for {
		n, err := p.parse(r.w.data(), r.w.eof)
		if err == errNeedMore {
			if err := r.w.fill(); err != nil {
				if errors.Is(err, ErrRecordTooLarge) {
					r.inRecord = false
					return nil, r.tooLarge()
				}
				return nil, r.readError(err)
			}
			continue
		}
		r.inRecord = false
		if err != nil {
			return nil, r.parseFailed(err)
		}
		return r.finish(n)
	}
}

// finish validates the n raw bytes of the parsed record, consumes them and
// builds the Values. All fields share one string so a record costs one
// allocation, whatever its number of fields.
func (r *delimited) finish(n int) ([]Value, error) {
	plain, oneLine := r.plain, r.oneLine
	r.plain, r.oneLine = nil, false
	unchecked := r.checkUTF8 && !r.w.valid(n)
	err := r.validate(n, plain, unchecked)
	if oneLine {
		r.w.start += n
		r.w.line, r.w.col = r.w.line+1, 0
	} else {
		r.w.advance(n)
	}
	if unchecked {
		r.w.check() // the bulk check stopped in this record: go on past it
	}
	if err != nil {
		return nil, err
	}
	if plain != nil {
		return r.vals, nil
	}
	s := string(r.out)
	if cap(r.vals) < len(r.fields) {
		r.vals = make([]Value, len(r.fields), 2*len(r.fields))
	}
	r.vals = r.vals[:len(r.fields)]
	start := 0
	for i, f := range r.fields {
		if f.null {
			r.vals[i] = Value{Null: true}
		} else {
			r.vals[i] = Value{S: s[start:f.end]}
		}
		start = f.end
	}
	return r.vals, nil
}

// validate checks the raw record for invalid UTF-8, and the decoded text of
// fields whose escapes produced non-ASCII bytes (PostgreSQL's \xhh).
// raw says whether the raw bytes still need checking (see window.check).
func (r *delimited) validate(n int, plain *fastSplit, raw bool) error {
	d := r.w.data()
	if k := -1; raw {
		if k = invalidUTF8(d[:n]); k >= 0 {
			field := r.fieldAt(k)
			if plain != nil { // plainLine kept no field offsets
				field = bytes.Count(d[:k], []byte{plain.delim})
			}
			return r.errorAt(k, field, ErrInvalidUTF8)
		}
	}
	if plain != nil || !r.checkUTF8 {
		return nil
	}
	start := 0
	for i, f := range r.fields {
		if f.high && !utf8.Valid(r.out[start:f.end]) {
			return r.errorAt(f.rawStart, i, fmt.Errorf("%w (from an escape sequence)", ErrInvalidUTF8))
		}
		start = f.end
	}
	return nil
}

// fieldAt returns the index of the field holding raw offset k.
func (r *delimited) fieldAt(k int) int {
	for i, f := range r.fields {
		if k < f.rawEnd {
			return i
		}
	}
	return len(r.fields) - 1
}

func (r *delimited) errorAt(k, field int, err error) *Error {
	line, col := r.w.pos(k)
	return &Error{Line: line, Column: col, Field: fieldName(r.cols, field), Err: err}
}

// parseFailed turns a parser error into an *Error and skips the bad record
// up to the next line terminator, so the caller may go on.
func (r *delimited) parseFailed(err error) error {
	var pe *parseError
	if !errors.As(err, &pe) {
		return r.readError(err)
	}
	e := r.errorAt(pe.off, pe.field, pe.err)
	if pe.err == ErrUnterminatedQuote {
		// Only reported at the end of the input: everything is consumed.
		r.w.advance(len(r.w.data()))
		return e
	}
	r.w.advance(pe.off)
	if err := r.w.discardThrough(r.term); err != nil {
		return r.readError(err)
	}
	return e
}

// tooLarge reports a record over the cap and skips to the next terminator.
func (r *delimited) tooLarge() error {
	e := &Error{Line: r.line, Column: r.w.col + 1,
		Err: fmt.Errorf("%w of %d bytes", ErrRecordTooLarge, r.w.max)}
	if err := r.w.discardThrough(r.term); err != nil {
		return r.readError(err)
	}
	return e
}

// readError makes a read error (I/O, decompression, size limit) fatal.
func (r *delimited) readError(err error) error {
	if errors.Is(err, ErrRecordTooLarge) {
		err = fmt.Errorf("%w of %d bytes", ErrRecordTooLarge, r.w.max)
	}
	r.err = &Error{Line: r.w.line, Err: err, Fatal: true}
	return r.err
}

// discardThrough consumes input up to and including the next sep, or to the
// end of the input, without keeping more than the window.
func (w *window) discardThrough(sep []byte) error {
	for {
		d := w.data()
		if k := bytes.Index(d, sep); k >= 0 {
			w.advance(k + len(sep))
			return nil
		}
		if w.eof {
			w.advance(len(d))
			return nil
		}
		if keep := len(sep) - 1; len(d) > keep {
			w.advance(len(d) - keep)
		}
		if err := w.fill(); err != nil {
			return err
		}
	}
}

// header reads the first record as column names and skips the remaining
// ignored lines with skip; it is how NewReader honours Header/IgnoreLines.
func (r *delimited) header(p rowParser, o Options, skip func() (bool, error)) error {
	if err := r.w.skipBOM(); err != nil {
		return r.readError(err)
	}
	ignore := o.IgnoreLines
	if o.Header {
		ignore = max(ignore, 1) - 1
		vals, err := r.next(p, false)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		r.cols = make([]string, len(vals))
		for i, v := range vals {
			r.cols[i] = v.S
		}
	}
	for ; ignore > 0; ignore-- {
		ok, err := skip()
		if e := (*Error)(nil); err != nil && !errors.As(err, &e) {
			return r.readError(err)
		} else if err != nil {
			return err
		}
		if !ok {
			break
		}
	}
	return nil
}
