package statement

import (
	"fmt"
	"strconv"
	"strings"
)

// Statement is a parsed *Load or *Export. String renders it back as Aurora
// MySQL text that parses to an equal value.
type Statement interface {
	String() string
	statement()
}

func (*Load) statement()   {}
func (*Export) statement() {}

// Parse parses one Aurora MySQL S3 statement: LOAD DATA FROM S3 or LOAD XML
// FROM S3 (giving a *Load), or SELECT … INTO OUTFILE S3 (giving an *Export).
// Every error is a *SyntaxError.
func Parse(sql string) (Statement, error) {
	p, err := newParser(sql)
	if err != nil {
		return nil, err
	}
	t := p.peek()
	switch {
	// Each branch returns a nil interface on error, not a typed nil pointer.
	case p.isKeyword(t, "LOAD"):
		l, err := p.load()
		if err != nil {
			return nil, err
		}
		return l, nil
	case p.isKeyword(t, "SELECT"), p.isKeyword(t, "WITH"), p.isPunct(t, "("):
		e, err := p.export()
		if err != nil {
			return nil, err
		}
		return e, nil
	case t.kind == tokEOF:
		return nil, p.errorf(t, "empty statement")
	}
	return nil, p.errorf(t, "unsupported statement: expected LOAD DATA FROM S3, LOAD XML FROM S3 or SELECT … INTO OUTFILE S3")
}

// parser is a cursor over the tokens of one statement.
type parser struct {
	src  string
	toks []token // ends with tokEOF
	i    int
}

func newParser(src string) (*parser, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	return &parser{src: src, toks: toks}, nil
}

func (p *parser) peek() token { return p.peekAt(0) }

// peekAt looks n tokens ahead; past the end it keeps returning tokEOF.
func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) advance() token {
	t := p.peek()
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) isKeyword(t token, kw string) bool {
	return t.kind == tokWord && strings.EqualFold(t.val, kw)
}

func (p *parser) isPunct(t token, s string) bool {
	return t.kind == tokPunct && t.val == s
}

// accept consumes the keywords kws if the next tokens spell them all.
func (p *parser) accept(kws ...string) bool {
	for n, kw := range kws {
		if !p.isKeyword(p.peekAt(n), kw) {
			return false
		}
	}
	p.i += len(kws)
	return true
}

func (p *parser) acceptPunct(s string) bool {
	if p.isPunct(p.peek(), s) {
		p.i++
		return true
	}
	return false
}

// expect consumes kws or fails at the first of them, so a typo in the
// second word is reported with the whole phrase in view.
func (p *parser) expect(kws ...string) error {
	if p.accept(kws...) {
		return nil
	}
	return p.errorf(p.peek(), "expected %s", strings.Join(kws, " "))
}

func (p *parser) expectPunct(s string) error {
	if p.acceptPunct(s) {
		return nil
	}
	return p.errorf(p.peek(), "expected %q", s)
}

func (p *parser) errorf(t token, format string, args ...any) *SyntaxError {
	e := newSyntaxError(p.src, t.pos, fmt.Sprintf(format, args...))
	if t.kind == tokEOF {
		e.Near = "" // whatever follows is whitespace or comments
	}
	return e
}

// str reads a string argument: adjacent quoted strings, which MySQL
// concatenates, or one hexadecimal or bit literal, which MySQL accepts
// wherever LOAD DATA takes a string.
func (p *parser) str(what string) (string, token, error) {
	t := p.peek()
	switch t.kind {
	case tokBinary:
		p.i++
		return t.val, t, nil
	case tokString:
		var b strings.Builder
		for p.peek().kind == tokString {
			b.WriteString(p.advance().val)
		}
		return b.String(), t, nil
	}
	return "", t, p.errorf(t, "expected %s as a quoted string", what)
}

// name reads an identifier, quoted or not.
func (p *parser) name(what string) (string, error) {
	t := p.peek()
	if t.kind == tokWord || t.kind == tokQuotedIdent {
		p.i++
		return t.val, nil
	}
	return "", p.errorf(t, "expected %s", what)
}

// unsigned reads a non-negative decimal integer that fits in an int64.
func (p *parser) unsigned(what string) (int64, error) {
	t := p.peek()
	if t.kind != tokNumber {
		return 0, p.errorf(t, "expected %s", what)
	}
	n, err := strconv.ParseInt(t.val, 10, 64)
	if err != nil {
		return 0, p.errorf(t, "%s %s is out of range", what, t.val)
	}
	p.i++
	return n, nil
}

// charset reads the name after CHARACTER SET, CHAR SET or CHARSET, if
// present. Names are limited to a letter followed by letters, digits and
// underscores (all of MySQL's are) so they can be rendered without quoting,
// and lower-cased since MySQL ignores their case.
func (p *parser) charset() (string, bool, error) {
	if !p.accept("CHARACTER", "SET") && !p.accept("CHAR", "SET") && !p.accept("CHARSET") {
		return "", false, nil
	}
	t := p.peek()
	var cs string
	switch t.kind {
	case tokWord, tokQuotedIdent, tokString:
		cs = t.val
		p.i++
	default:
		return "", false, p.errorf(t, "expected character set name")
	}
	lower := strings.ToLower(cs)
	if lower == "" || !allIn(lower[:1], "abcdefghijklmnopqrstuvwxyz") || !allIn(lower, "abcdefghijklmnopqrstuvwxyz0123456789_") {
		return "", false, p.errorf(t, "invalid character set name %q", cs)
	}
	return lower, true, nil
}

// fields reads the options after FIELDS or COLUMNS. As in MySQL they may
// come in any order; unlike MySQL, a repeated option is an error rather
// than silently overriding the first.
func (p *parser) fields() (Fields, error) {
	var f Fields
	for {
		t := p.peek()
		var err error
		switch {
		case p.accept("TERMINATED", "BY"):
			err = p.fieldValue(t, "TERMINATED BY", &f.TerminatedSet, &f.TerminatedBy, false)
		case p.accept("OPTIONALLY", "ENCLOSED", "BY"):
			f.OptionallyEnclosed = true
			err = p.fieldValue(t, "ENCLOSED BY", &f.EnclosedSet, &f.EnclosedBy, true)
		case p.accept("ENCLOSED", "BY"):
			err = p.fieldValue(t, "ENCLOSED BY", &f.EnclosedSet, &f.EnclosedBy, true)
		case p.accept("ESCAPED", "BY"):
			err = p.fieldValue(t, "ESCAPED BY", &f.EscapedSet, &f.EscapedBy, true)
		default:
			if !f.TerminatedSet && !f.EnclosedSet && !f.EscapedSet {
				return f, p.errorf(t, "expected TERMINATED BY, ENCLOSED BY or ESCAPED BY after FIELDS")
			}
			return f, nil
		}
		if err != nil {
			return f, err
		}
	}
}

func (p *parser) fieldValue(at token, opt string, set *bool, val *string, oneByte bool) error {
	if *set {
		return p.errorf(at, "duplicate %s in FIELDS", opt)
	}
	v, t, err := p.str("FIELDS " + opt + " value")
	if err != nil {
		return err
	}
	// MySQL refuses longer enclosing and escape characters when the
	// statement runs; refusing them here gives the error a position.
	if oneByte && len(v) > 1 {
		return p.errorf(t, "FIELDS %s takes a single-byte character or ''", opt)
	}
	*set, *val = true, v
	return nil
}

// lines reads the options after LINES, in any order.
func (p *parser) lines() (Lines, error) {
	var l Lines
	for {
		t := p.peek()
		var set *bool
		var val *string
		switch {
		case p.accept("STARTING", "BY"):
			set, val = &l.StartingSet, &l.StartingBy
		case p.accept("TERMINATED", "BY"):
			set, val = &l.TerminatedSet, &l.TerminatedBy
		default:
			if !l.StartingSet && !l.TerminatedSet {
				return l, p.errorf(t, "expected STARTING BY or TERMINATED BY after LINES")
			}
			return l, nil
		}
		if *set {
			return l, p.errorf(t, "duplicate %s in LINES", strings.ToUpper(t.val)+" BY")
		}
		v, _, err := p.str("LINES value")
		if err != nil {
			return l, err
		}
		*set, *val = true, v
	}
}
