package statement

import (
	"strings"
)

// tokenKind classifies a lexeme under MySQL's lexical rules.
type tokenKind uint8

const (
	tokEOF         tokenKind = iota
	tokWord                  // unquoted identifier or keyword
	tokQuotedIdent           // `identifier`
	tokString                // 'text' or "text"
	tokBinary                // X'hex', 0xhex, B'bits', 0bbits: a string given as bytes
	tokNumber                // unsigned decimal integer
	tokVar                   // @name, @'name', @"name", @`name`
	tokPunct                 // operator or punctuation; ":=" and "@@" are one token
)

// token is one lexeme: src[pos:end] is its text, val its decoded value
// (the name, the string's bytes, the punctuation itself).
type token struct {
	kind     tokenKind
	pos, end int
	val      string
}

type lexer struct {
	src  string
	pos  int
	toks []token
}

// lex splits src into tokens, dropping whitespace and comments, and ends the
// list with a tokEOF placed just after the last real token (so errors at the
// end point there rather than past trailing comments).
func lex(src string) ([]token, error) {
	// A raw NUL byte has no business in SQL text, and the PostgreSQL wire
	// protocol would silently cut a query at it.
	if i := strings.IndexByte(src, 0); i >= 0 {
		return nil, newSyntaxError(src, i, "NUL byte in statement")
	}
	lx := &lexer{src: src}
	for {
		if err := lx.skipSpaceAndComments(); err != nil {
			return nil, err
		}
		if lx.pos >= len(src) {
			break
		}
		if err := lx.next(); err != nil {
			return nil, err
		}
	}
	end := 0
	if n := len(lx.toks); n > 0 {
		end = lx.toks[n-1].end
	}
	return append(lx.toks, token{kind: tokEOF, pos: end, end: end}), nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// isIdentByte reports bytes of an unquoted identifier. Bytes of multi-byte
// UTF-8 characters count, as MySQL allows U+0080 and above in identifiers.
func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '$' || c >= 0x80
}

func (lx *lexer) skipSpaceAndComments() error {
	s := lx.src
	for lx.pos < len(s) {
		rest := s[lx.pos:]
		switch {
		case isSpace(rest[0]):
			lx.pos++
		case rest[0] == '#',
			// MySQL needs whitespace or a control character after "--";
			// "1--2" is arithmetic.
			strings.HasPrefix(rest, "--") && (len(rest) == 2 || rest[2] <= ' '):
			if i := strings.IndexByte(rest, '\n'); i >= 0 {
				lx.pos += i + 1
			} else {
				lx.pos = len(s)
			}
		case strings.HasPrefix(rest, "--"):
			// MySQL reads "--x" as two minus signs, PostgreSQL and SQLite
			// as a comment; refusing it keeps every server reading an
			// export's query as we do.
			return newSyntaxError(s, lx.pos, `"--" must be followed by a space to start a comment (write "- -" for two minus signs)`)
		case strings.HasPrefix(rest, "/*!"), strings.HasPrefix(rest, "/*M!"):
			// Executable comments run as SQL on MySQL and MariaDB depending
			// on the server version; reading them as comments would let a
			// statement say one thing to us and another to the server.
			return newSyntaxError(s, lx.pos, "executable comments /*! … */ are not supported")
		case strings.HasPrefix(rest, "/*"):
			i := strings.Index(rest[2:], "*/")
			if i < 0 {
				return newSyntaxError(s, lx.pos, "unterminated comment")
			}
			lx.pos += 2 + i + 2
		default:
			return nil
		}
	}
	return nil
}

func (lx *lexer) emit(kind tokenKind, end int, val string) {
	lx.toks = append(lx.toks, token{kind: kind, pos: lx.pos, end: end, val: val})
	lx.pos = end
}

func (lx *lexer) next() error {
	s, pos := lx.src, lx.pos
	c := s[pos]
	var next byte
	if pos+1 < len(s) {
		next = s[pos+1]
	}
	switch {
	case c == '\'' || c == '"':
		val, end, err := lx.quoted(pos, true)
		if err != nil {
			return err
		}
		lx.emit(tokString, end, val)
	case c == '`':
		val, end, err := lx.quoted(pos, false)
		if err != nil {
			return err
		}
		if val == "" {
			return newSyntaxError(s, pos, "empty quoted identifier")
		}
		lx.emit(tokQuotedIdent, end, val)
	case c == '@':
		return lx.variable()
	case (c == 'x' || c == 'X' || c == 'b' || c == 'B') && next == '\'':
		return lx.binaryString()
	case isIdentByte(c):
		lx.word()
	case c == ':' && next == '=':
		lx.emit(tokPunct, pos+2, ":=")
	default:
		lx.emit(tokPunct, pos+1, s[pos:pos+1])
	}
	return nil
}

// quoted reads a quoted lexeme starting at pos: a doubled quote stands for
// itself, and in strings (backslash true) MySQL's backslash escapes apply.
func (lx *lexer) quoted(pos int, backslash bool) (string, int, error) {
	s, q := lx.src, lx.src[pos]
	var b strings.Builder
	for i := pos + 1; i < len(s); {
		c := s[i]
		switch {
		case c == q && i+1 < len(s) && s[i+1] == q:
			b.WriteByte(q)
			i += 2
		case c == q:
			return b.String(), i + 1, nil
		case c == '\\' && backslash && i+1 < len(s):
			b.WriteString(unescapeMySQL(s[i+1]))
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	if q == '`' {
		return "", 0, newSyntaxError(s, pos, "unterminated quoted identifier")
	}
	return "", 0, newSyntaxError(s, pos, "unterminated string literal")
}

// unescapeMySQL decodes the character after a backslash in a MySQL string.
func unescapeMySQL(c byte) string {
	switch c {
	case '0':
		return "\x00"
	case 'b':
		return "\b"
	case 'n':
		return "\n"
	case 'r':
		return "\r"
	case 't':
		return "\t"
	case 'Z':
		return "\x1a"
	case '%', '_':
		// Kept escaped so LIKE patterns still see them as literals.
		return "\\" + string(c)
	}
	return string(c)
}

// variable reads a user variable (@name or @'quoted name'); "@@" stays
// punctuation because system variables only matter inside expressions,
// which are kept as text.
func (lx *lexer) variable() error {
	s, pos := lx.src, lx.pos
	if pos+1 < len(s) {
		switch c := s[pos+1]; {
		case c == '@':
			lx.emit(tokPunct, pos+2, "@@")
			return nil
		case c == '\'' || c == '"' || c == '`':
			val, end, err := lx.quoted(pos+1, c != '`')
			if err != nil {
				return err
			}
			lx.emit(tokVar, end, val)
			return nil
		}
	}
	end := pos + 1
	for end < len(s) && (isIdentByte(s[end]) || s[end] == '.') {
		end++
	}
	if end == pos+1 {
		lx.emit(tokPunct, end, "@")
		return nil
	}
	lx.emit(tokVar, end, s[pos+1:end])
	return nil
}

// binaryString reads X'hex' or B'bits'.
func (lx *lexer) binaryString() error {
	s, pos := lx.src, lx.pos
	i := strings.IndexByte(s[pos+2:], '\'')
	if i < 0 {
		return newSyntaxError(s, pos, "unterminated string literal")
	}
	digits, end := s[pos+2:pos+2+i], pos+3+i
	var val string
	var ok bool
	if s[pos] == 'x' || s[pos] == 'X' {
		// MySQL refuses an odd number of digits in X'…' (but not in 0x…).
		val, ok = decodeHex(digits)
		ok = ok && len(digits)%2 == 0
	} else {
		val, ok = decodeBits(digits)
	}
	if !ok {
		return newSyntaxError(s, pos, "invalid hexadecimal or bit literal")
	}
	lx.emit(tokBinary, end, val)
	return nil
}

// word reads an unquoted identifier, keyword or number. MySQL identifiers
// may start with a digit, so "1abc" is a name while "123" is a number.
func (lx *lexer) word() {
	s, pos := lx.src, lx.pos
	end := pos
	for end < len(s) && isIdentByte(s[end]) {
		end++
	}
	w := s[pos:end]
	if allIn(w, "0123456789") {
		lx.emit(tokNumber, end, w)
		return
	}
	if len(w) > 2 && w[0] == '0' {
		var val string
		var ok bool
		switch w[1] {
		case 'x':
			val, ok = decodeHex(w[2:])
		case 'b':
			val, ok = decodeBits(w[2:])
		}
		if ok {
			lx.emit(tokBinary, end, val)
			return
		}
	}
	lx.emit(tokWord, end, w)
}

func allIn(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}

// decodeHex decodes hex digits into bytes, padding an odd count on the left
// as MySQL does for 0x literals.
func decodeHex(digits string) (string, bool) {
	if !allIn(digits, "0123456789abcdefABCDEF") {
		return "", false
	}
	if len(digits)%2 == 1 {
		digits = "0" + digits
	}
	b := make([]byte, len(digits)/2)
	for i := range b {
		b[i] = hexVal(digits[2*i])<<4 | hexVal(digits[2*i+1])
	}
	return string(b), true
}

func hexVal(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// decodeBits decodes binary digits into bytes, padding on the left to whole
// bytes.
func decodeBits(digits string) (string, bool) {
	if !allIn(digits, "01") {
		return "", false
	}
	if r := len(digits) % 8; r != 0 {
		digits = strings.Repeat("0", 8-r) + digits
	}
	b := make([]byte, len(digits)/8)
	for i := range b {
		for _, d := range digits[8*i : 8*i+8] {
			b[i] = b[i]<<1 | byte(d-'0')
		}
	}
	return string(b), true
}
