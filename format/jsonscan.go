package format

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// object parses the JSON object at d[i] ('{') into j.out/j.spans and returns
// the offset after its '}'. It returns errEOD when d ends inside it.
func (j *jsonReader) object(d []byte, i int) (int, error) {
	j.out, j.spans, j.field = j.out[:0], j.spans[:0], -1
	i = skipWS(d, i+1)
	if i == len(d) {
		return 0, errEOD
	}
	if d[i] == '}' {
		return i + 1, nil
	}
	for {
		j.field = -1
		if i = skipWS(d, i); i == len(d) {
			return 0, errEOD
		}
		if d[i] != '"' {
			return 0, j.syntax(i, "a string key was expected")
		}
		var err error
		if j.keyBuf, i, err = appendJSONString(j.keyBuf[:0], d, i); err != nil {
			return 0, err
		}
		if i = skipWS(d, i); i == len(d) {
			return 0, errEOD
		}
		if d[i] != ':' {
			return 0, j.syntax(i, "':' was expected after the key")
		}
		col, err := j.column(j.keyBuf)
		if err != nil {
			return 0, &parseError{off: i, field: -1, err: err}
		}
		j.field = col
		start := len(j.out)
		null := false
		if i, null, err = j.value(d, skipWS(d, i+1)); err != nil {
			return 0, err
		}
		j.spans = append(j.spans, span{col: col, start: start, end: len(j.out), null: null})
		if i = skipWS(d, i); i == len(d) {
			return 0, errEOD
		}
		switch d[i] {
		case ',':
			i++
		case '}':
			return i + 1, nil
		default:
			return 0, j.syntax(i, "',' or '}' was expected")
		}
	}
}

func (j *jsonReader) syntax(off int, msg string) error {
	return &parseError{off: off, field: j.field, err: fmt.Errorf("%w: %s", ErrSyntax, msg)}
}

// value appends the text of the JSON value at d[i] to j.out.
func (j *jsonReader) value(d []byte, i int) (next int, null bool, err error) {
	if i == len(d) {
		return 0, false, errEOD
	}
	switch c := d[i]; {
	case c == '"':
		j.out, next, err = appendJSONString(j.out, d, i)
		if pe := (*parseError)(nil); errors.As(err, &pe) {
			pe.field = j.field
		}
		return next, false, err
	case c == '-' || '0' <= c && c <= '9':
		return j.number(d, i)
	case c == 't' || c == 'f' || c == 'n':
		return j.literal(d, i)
	case c == '{' || c == '[':
		return j.nested(d, i)
	}
	return 0, false, j.syntax(i, fmt.Sprintf("%q cannot start a value", d[i]))
}

// number appends a JSON number exactly as written, after checking its
// grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (j *jsonReader) number(d []byte, i int) (int, bool, error) {
	end := i
	for end < len(d) && isNumberByte(d[end]) {
		end++
	}
	if end == len(d) {
		return 0, false, errEOD // the number may go on
	}
	if !validNumber(d[i:end]) {
		return 0, false, j.syntax(i, fmt.Sprintf("invalid number %q", d[i:end]))
	}
	j.out = append(j.out, d[i:end]...)
	return end, false, nil
}

func isNumberByte(c byte) bool {
	return '0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func validNumber(s []byte) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() bool {
		k := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i > k
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}

// literal reads true, false or null.
func (j *jsonReader) literal(d []byte, i int) (int, bool, error) {
	for _, lit := range [...]string{"true", "false", "null"} {
		if lit[0] != d[i] {
			continue
		}
		n := min(len(d)-i, len(lit))
		if string(d[i:i+n]) != lit[:n] {
			break
		}
		if n < len(lit) {
			return 0, false, errEOD
		}
		if lit == "null" {
			return i + n, true, nil
		}
		j.out = append(j.out, lit...)
		return i + n, false, nil
	}
	return 0, false, j.syntax(i, "invalid literal (true, false or null expected)")
}

// nested appends a nested object or array as compact JSON, which also
// checks it.
func (j *jsonReader) nested(d []byte, i int) (int, bool, error) {
	end, ok := nestedEnd(d, i)
	if !ok {
		return 0, false, errEOD
	}
	j.compact.Reset()
	if err := json.Compact(&j.compact, d[i:end]); err != nil {
		// Compact's errors carry no offset; Unmarshal's checker does.
		off := i
		var se *json.SyntaxError
		if errors.As(json.Unmarshal(d[i:end], new(json.RawMessage)), &se) {
			err, off = se, i+int(max(se.Offset-1, 0))
		}
		return 0, false, &parseError{off: off, field: j.field, err: fmt.Errorf("%w: %w", ErrSyntax, err)}
	}
	j.out = append(j.out, j.compact.Bytes()...)
	return end, false, nil
}

// nestedEnd finds the end of the object or array at d[i] by counting
// brackets outside strings; json.Compact checks the rest.
func nestedEnd(d []byte, i int) (int, bool) {
	depth := 0
	for k := i; k < len(d); k++ {
		switch d[k] {
		case '"':
			for k++; k < len(d) && d[k] != '"'; k++ {
				if d[k] == '\\' {
					k++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return k + 1, true
			}
		}
	}
	return 0, false
}

// appendJSONString appends the unescaped JSON string at d[i] ('"') to dst
// and returns the offset after its closing quote. A lone surrogate becomes
// U+FFFD, as in encoding/json.
func appendJSONString(dst, d []byte, i int) ([]byte, int, error) {
	i++
	for {
		k := i
		for k < len(d) && d[k] != '"' && d[k] != '\\' && d[k] >= 0x20 {
			k++
		}
		dst = append(dst, d[i:k]...)
		i = k
		if i == len(d) {
			return dst, 0, errEOD
		}
		switch d[i] {
		case '"':
			return dst, i + 1, nil
		case '\\':
			var err error
			if dst, i, err = appendEscape(dst, d, i); err != nil {
				return dst, 0, err
			}
		default:
			return dst, 0, &parseError{off: i, field: -1, err: fmt.Errorf("%w: control character in a string", ErrSyntax)}
		}
	}
}

var jsonEscapes = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// appendEscape decodes the escape at d[i] ('\\').
func appendEscape(dst, d []byte, i int) ([]byte, int, error) {
	if i+1 == len(d) {
		return dst, 0, errEOD
	}
	if c := jsonEscapes[d[i+1]]; c != 0 {
		return append(dst, c), i + 2, nil
	}
	if d[i+1] != 'u' {
		return dst, 0, &parseError{off: i, field: -1, err: fmt.Errorf("%w: invalid escape \\%c", ErrSyntax, d[i+1])}
	}
	r, err := hex4(d, i)
	if err != nil {
		return dst, 0, err
	}
	i += 6
	if utf16.IsSurrogate(r) {
		if rest := d[i:]; len(rest) < 6 && len(rest) > 0 && rest[0] == '\\' && (len(rest) == 1 || rest[1] == 'u') {
			return dst, 0, errEOD // the low surrogate may follow
		}
		if len(d)-i >= 6 && d[i] == '\\' && d[i+1] == 'u' {
			if r2, err := hex4(d, i); err == nil {
				if p := utf16.DecodeRune(r, r2); p != utf8.RuneError {
					return utf8.AppendRune(dst, p), i + 6, nil
				}
			}
		}
		r = utf8.RuneError
	}
	return utf8.AppendRune(dst, r), i, nil
}

// hex4 reads the four hex digits of \uXXXX at d[i].
func hex4(d []byte, i int) (rune, error) {
	if len(d)-i < 6 {
		return 0, errEOD
	}
	var r rune
	for _, c := range d[i+2 : i+6] {
		v := digitVal(c)
		if v < 0 {
			return 0, &parseError{off: i, field: -1, err: fmt.Errorf("%w: invalid \\u escape", ErrSyntax)}
		}
		r = r<<4 | rune(v)
	}
	return r, nil
}

func skipWS(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	return i
}
