package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// jsonReader decodes JSON Lines (one object per line, blank lines skipped)
// and JSON (a top-level array of objects, or a whitespace-separated stream
// of objects). Values keep their JSON text: numbers exactly as written (no
// float rounding), strings unescaped, true/false as "true"/"false", null as
// Null and nested objects and arrays as compact JSON.
//
// Both are parsed by a small scanner over the window rather than
// encoding/json's Decoder: one element at a time, so memory is bounded by
// the largest object, keys keep their order (a map would lose it) and line
// numbers come for free. Nested values are checked by json.Compact.
type jsonReader struct {
	w         *window
	lines     bool // JSON Lines
	checkUTF8 bool
	cols      []string
	index     map[string]int
	out       []byte // the record's values, back to back
	spans     []span
	vals      []Value
	keyBuf    []byte
	compact   bytes.Buffer
	line      int
	state     jsonState
	ignore    int
	err       error // sticky
	field     int   // column being parsed, for errors
	prev      int   // column of the previous key
	started   bool
}

// span is one value of the record: out[start:end] for column col.
type span struct {
	col, start, end int
	null            bool
}

type jsonState int

const (
	jsonStart  jsonState = iota // before '[' or the first '{'
	jsonFirst                   // after '[': an object or ']'
	jsonNext                    // after an element: ',' or ']'
	jsonElem                    // after ',': an object
	jsonStream                  // top-level objects without an array
	jsonAfter                   // after ']': only whitespace
)

// errEOD is the scanner's "data ended inside a value": more input is needed,
// or, at the end of the input (or line), a syntax error.
var errEOD = errors.New("unexpected end of input")

func newJSONReader(r io.Reader, o Options, lines, checkUTF8 bool) *jsonReader {
	return &jsonReader{w: newWindow(r, o, checkUTF8), lines: lines, checkUTF8: checkUTF8,
		index: map[string]int{}, ignore: o.IgnoreLines, line: 1}
}

func (j *jsonReader) Columns() []string { return j.cols }
func (j *jsonReader) Line() int         { return j.line }

func (j *jsonReader) Next() ([]Value, error) {
	if j.err != nil {
		return nil, j.err
	}
	if !j.started {
		j.started = true
		if err := j.w.skipBOM(); err != nil {
			return nil, j.fatal(err)
		}
	}
	for ; j.ignore > 0; j.ignore-- {
		_, err := j.next()
		var e *Error
		if err != nil && !(errors.As(err, &e) && !e.Fatal) {
			return nil, err
		}
	}
	return j.next()
}

func (j *jsonReader) next() ([]Value, error) {
	if j.err != nil {
		return nil, j.err
	}
	if j.lines {
		return j.nextLine()
	}
	return j.nextElement()
}

func (j *jsonReader) nextLine() ([]Value, error) {
	for {
		d, atEOF := j.w.data(), j.w.eof
		if len(d) == 0 && atEOF {
			return nil, io.EOF
		}
		k := bytes.IndexByte(d, '\n')
		if k < 0 && !atEOF {
			if err := j.fill(); err != nil {
				return nil, err
			}
			continue
		}
		n := k + 1
		if k < 0 {
			k, n = len(d), len(d)
		}
		line := d[:k]
		i := skipWS(line, 0)
		if i == len(line) {
			j.w.advance(n) // blank line
			continue
		}
		j.line = j.w.line
		err := j.lineRecord(line, i)
		unchecked := j.checkUTF8 && !j.w.valid(n)
		if err == nil && unchecked {
			err = j.checkRaw(line)
		}
		var e *Error
		if err != nil {
			e = j.errorAt(err, len(line))
		}
		j.w.advance(n)
		if unchecked {
			j.w.check()
		}
		if e != nil {
			return nil, e
		}
		return j.values(), nil
	}
}

// lineRecord parses the object of one JSON Lines line starting at line[i].
func (j *jsonReader) lineRecord(line []byte, i int) error {
	if line[i] != '{' {
		return &parseError{off: i, field: -1, err: fmt.Errorf("%w: a JSON Lines record must be an object", ErrSyntax)}
	}
	end, err := j.object(line, i)
	if err != nil {
		return err
	}
	if k := skipWS(line, end); k < len(line) {
		return &parseError{off: k, field: -1, err: fmt.Errorf("%w: data after the object", ErrSyntax)}
	}
	return nil
}

func (j *jsonReader) nextElement() ([]Value, error) {
	for {
		d, atEOF := j.w.data(), j.w.eof
		if i := skipWS(d, 0); i > 0 {
			j.w.advance(i)
			continue
		}
		if len(d) == 0 {
			if !atEOF {
				if err := j.fill(); err != nil {
					return nil, err
				}
				continue
			}
			if j.state == jsonFirst || j.state == jsonNext || j.state == jsonElem {
				return nil, j.fatalAt(0, errors.New("unexpected end of input: the array is not closed"))
			}
			return nil, io.EOF
		}
		vals, again, err := j.element(d, atEOF)
		if !again {
			return vals, err
		}
	}
}

// element acts on the first byte of d (not whitespace) according to the
// array state; again asks the caller to loop.
func (j *jsonReader) element(d []byte, atEOF bool) (vals []Value, again bool, err error) {
	c := d[0]
	switch {
	case j.state == jsonStart && c == '[':
		j.state = jsonFirst
	case j.state == jsonStart && c == '{':
		j.state = jsonStream
		return nil, true, nil
	case (j.state == jsonFirst || j.state == jsonNext) && c == ']':
		j.state = jsonAfter
	case j.state == jsonNext && c == ',':
		j.state = jsonElem
	case c == '{' && (j.state == jsonFirst || j.state == jsonElem || j.state == jsonStream):
		return j.arrayRecord(d, atEOF)
	default:
		want := map[jsonState]string{jsonStart: "'[' or '{'", jsonFirst: "an object or ']'",
			jsonNext: "',' or ']'", jsonElem: "an object", jsonStream: "an object",
			jsonAfter: "the end of the input"}[j.state]
		return nil, false, j.fatalAt(0, fmt.Errorf("%w: %q where %s was expected", ErrSyntax, c, want))
	}
	j.w.advance(1)
	return nil, true, nil
}

// arrayRecord parses the object at the start of d, an array element.
func (j *jsonReader) arrayRecord(d []byte, atEOF bool) ([]Value, bool, error) {
	j.line = j.w.line
	end, err := j.object(d, 0)
	if errors.Is(err, errEOD) && !atEOF {
		if err := j.fill(); err != nil {
			return nil, false, err
		}
		return nil, true, nil
	}
	if err != nil {
		// The array's structure is lost: nothing after can be trusted.
		e := j.errorAt(err, len(d))
		e.Fatal = true
		j.err = e
		return nil, false, e
	}
	if j.state != jsonStream {
		j.state = jsonNext
	}
	if j.checkUTF8 && !j.w.valid(end) {
		var e *Error
		if err := j.checkRaw(d[:end]); err != nil {
			e = j.errorAt(err, end)
		}
		j.w.advance(end)
		j.w.check()
		if e != nil {
			return nil, false, e
		}
		return j.values(), false, nil
	}
	j.w.advance(end)
	return j.values(), false, nil
}

// fill reads more input; a record over the cap is an error and, for JSON
// Lines, the rest of its line is skipped so the caller may go on.
func (j *jsonReader) fill() error {
	err := j.w.fill()
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrRecordTooLarge) {
		return j.fatal(err)
	}
	e := &Error{Line: j.w.line, Column: j.w.col + 1, Err: fmt.Errorf("%w of %d bytes", ErrRecordTooLarge, j.w.max)}
	if !j.lines {
		e.Fatal = true
		j.err = e
		return e
	}
	if err := j.w.discardThrough(nlByte); err != nil {
		return j.fatal(err)
	}
	return e
}

func (j *jsonReader) fatal(err error) error {
	j.err = &Error{Line: j.w.line, Err: err, Fatal: true}
	return j.err
}

func (j *jsonReader) fatalAt(off int, err error) error {
	line, col := j.w.pos(off)
	j.err = &Error{Line: line, Column: col, Err: err, Fatal: true}
	return j.err
}

// errorAt turns a scanner error into an *Error; errEOD becomes a syntax
// error at offset end.
func (j *jsonReader) errorAt(err error, end int) *Error {
	var pe *parseError
	if !errors.As(err, &pe) {
		pe = &parseError{off: end, field: j.field, err: fmt.Errorf("%w: %w", ErrSyntax, err)}
	}
	line, col := j.w.pos(pe.off)
	return &Error{Line: line, Column: col, Field: fieldName(j.cols, pe.field), Err: pe.err}
}

func (j *jsonReader) checkRaw(raw []byte) error {
	if k := invalidUTF8(raw); k >= 0 {
		return &parseError{off: k, field: -1, err: ErrInvalidUTF8}
	}
	return nil
}

// values aligns the parsed spans to Columns; all values share one string.
func (j *jsonReader) values() []Value {
	s := string(j.out)
	if cap(j.vals) < len(j.cols) {
		j.vals = make([]Value, len(j.cols), 2*len(j.cols))
	}
	j.vals = j.vals[:len(j.cols)]
	for i := range j.vals {
		j.vals[i] = Value{Null: true}
	}
	for _, sp := range j.spans {
		if sp.null {
			j.vals[sp.col] = Value{Null: true}
		} else {
			j.vals[sp.col] = Value{S: s[sp.start:sp.end]}
		}
	}
	return j.vals
}

// column returns the index of the column named key, adding it on first
// sight.
func (j *jsonReader) column(key []byte) (int, error) {
	// Records usually repeat the keys in the same order: try the column
	// after the previous one before hashing.
	if p := j.prev + 1; p < len(j.cols) && j.cols[p] == string(key) {
		j.prev = p
		return p, nil
	}
	if i, ok := j.index[string(key)]; ok {
		j.prev = i
		return i, nil
	}
	if len(j.cols) >= MaxColumns {
		return 0, ErrTooManyColumns
	}
	name := string(key)
	j.index[name] = len(j.cols)
	j.cols = append(j.cols, name)
	j.prev = len(j.cols) - 1
	return j.prev, nil
}
