package coltype

import (
	"bytes"
	"fmt"

	"github.com/s3bridge/s3bridge/tuple"
)

// DimsError is an array value with another number of dimensions than its
// column's: PostgreSQL doesn't enforce the declared ones.
type DimsError struct {
	Got, Want int
}

func (e *DimsError) Error() string {
	return fmt.Sprintf("a %d-dimensional array where %d dimensions were expected", e.Got, e.Want)
}

// TextDims is the number of dimensions of an array in its text form: how
// many braces open it ({} and {1,2} have one, {{1},{2}} two). It is 0 for
// text that isn't an array.
func TextDims(b []byte) int {
	b = skipBounds(b)
	n := 0
	for n < len(b) && b[n] == '{' {
		n++
	}
	return n
}

// skipBounds drops the [lo:hi]= prefix array_out writes when a lower
// bound isn't 1: a list starts at its first element.
func skipBounds(b []byte) []byte {
	if len(b) > 0 && b[0] == '[' {
		if i := bytes.IndexByte(b, '='); i >= 0 {
			return b[i+1:]
		}
	}
	return b
}

// ArrayParser parses array_out's text form: {a,"b c",NULL}, {{1,2},{3,4}}
// for two dimensions, after [lo:hi]= when a lower bound isn't 1. Elements
// are double-quoted, with backslash escapes, when they hold anything of
// the syntax; an unquoted NULL is NULL. Elements stay in their text form.
//
// Set Depth (the dimensions every value must have) and Delim (the element
// type's pg_type.typdelim: a comma for all built-in types but box) before
// the first Parse. A parser reuses its buffers from value to value.
type ArrayParser struct {
	Depth int
	Delim byte
	// levels[0] holds the elements, levels[k] the lists k levels up.
	levels  [][]tuple.Value
	unquote []byte // quoted elements, unescaped
	s       []byte
	i       int
}

// Parse returns b's elements as a list nested Depth deep, of Text and
// Null values (an empty array is an empty list). The values stay valid
// until the next Parse. A value with other dimensions fails with a
// *DimsError.
func (p *ArrayParser) Parse(b []byte) (tuple.Value, error) {
	b = skipBounds(b)
	if len(p.levels) != p.Depth {
		p.levels = make([][]tuple.Value, p.Depth)
	}
	p.unquote = p.unquote[:0]
	for k := range p.levels {
		p.levels[k] = p.levels[k][:0]
	}
	p.s, p.i = b, 0
	v, err := p.list(0)
	if err == nil && p.i != len(p.s) {
		err = fmt.Errorf("text after the array's closing brace")
	}
	if err != nil {
		return tuple.Value{}, fmt.Errorf("array %.40q: %w", b, err)
	}
	return v, nil
}

// list parses a brace-enclosed list at nesting level (0 for the array
// itself). Its elements go to the end of levels[Depth-1-level], where the
// lists of the level below have been appended as they were parsed.
func (p *ArrayParser) list(level int) (tuple.Value, error) {
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return tuple.Value{}, fmt.Errorf("no { at offset %d", p.i)
	}
	p.i++
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		if level > 0 {
			return tuple.Value{}, fmt.Errorf("an empty list inside an array")
		}
		return tuple.ListValue(nil), nil
	}
	k := p.Depth - 1 - level
	if k < 0 {
		return tuple.Value{}, &DimsError{Got: level + 1, Want: p.Depth}
	}
	// The list's elements are appended to levels[k] together: the lists
	// inside them are built in the levels below.
	start := len(p.levels[k])
	for {
		var v tuple.Value
		var err error
		switch {
		case p.i < len(p.s) && p.s[p.i] == '{':
			v, err = p.list(level + 1)
		case k > 0:
			return tuple.Value{}, &DimsError{Got: level + 1, Want: p.Depth}
		default:
			v, err = p.scalar()
		}
		if err != nil {
			return tuple.Value{}, err
		}
		p.levels[k] = append(p.levels[k], v)
		if p.i >= len(p.s) {
			return tuple.Value{}, fmt.Errorf("no closing }")
		}
		c := p.s[p.i]
		p.i++
		if c == '}' {
			break
		}
		if c != p.Delim {
			return tuple.Value{}, fmt.Errorf("%q at offset %d", c, p.i-1)
		}
	}
	return tuple.ListValue(p.levels[k][start:len(p.levels[k]):len(p.levels[k])]), nil
}

// scalar parses one element: "quoted" with backslash escapes, or bare up
// to the delimiter or closing brace.
func (p *ArrayParser) scalar() (tuple.Value, error) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		start := len(p.unquote)
		for p.i++; p.i < len(p.s); p.i++ {
			c := p.s[p.i]
			switch {
			case c == '\\' && p.i+1 < len(p.s):
				p.i++
				c = p.s[p.i]
			case c == '"':
				p.i++
				return tuple.TextValue(p.unquote[start:len(p.unquote):len(p.unquote)]), nil
			}
			p.unquote = append(p.unquote, c)
		}
		return tuple.Value{}, fmt.Errorf("no closing quote")
	}
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != p.Delim && p.s[p.i] != '}' {
		p.i++
	}
	tok := p.s[start:p.i]
	if len(tok) == 0 {
		return tuple.Value{}, fmt.Errorf("an empty element at offset %d", start)
	}
	if bytes.EqualFold(tok, []byte("NULL")) {
		return tuple.NullValue(), nil
	}
	return tuple.TextValue(tok), nil
}
