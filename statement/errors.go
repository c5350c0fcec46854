package statement

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// nearLen bounds the excerpt a SyntaxError quotes, in characters: enough to
// recognise the spot without echoing a whole statement into a log.
const nearLen = 40

// SyntaxError reports a statement this package can't parse or refuses to
// accept. Every error returned by Parse, ParseLoad and ParseExport is one.
type SyntaxError struct {
	Pos    int    // byte offset into the statement
	Line   int    // 1-based line of Pos
	Column int    // 1-based column of Pos, in characters
	Near   string // the text at Pos up to the end of its line (at most 40 characters); empty at the end of the statement
	Msg    string // what was expected or why the statement is refused
}

// Error reads like `line 1 column 42: expected INTO TABLE near "INTO TABEL t"`.
func (e *SyntaxError) Error() string {
	if e.Near == "" {
		return fmt.Sprintf("line %d column %d: %s at end of statement", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("line %d column %d: %s near %q", e.Line, e.Column, e.Msg, e.Near)
}

func newSyntaxError(src string, pos int, msg string) *SyntaxError {
	pos = min(max(pos, 0), len(src))
	e := &SyntaxError{Pos: pos, Line: 1, Column: 1, Msg: msg}
	for _, r := range src[:pos] {
		if r == '\n' {
			e.Line++
			e.Column = 1
		} else {
			e.Column++
		}
	}
	near, _, _ := strings.Cut(src[pos:], "\n")
	near = strings.TrimRight(near, "\r")
	if utf8.RuneCountInString(near) > nearLen {
		near = string([]rune(near)[:nearLen])
	}
	e.Near = near
	return e
}

// UnsupportedError reports a clause of a LOAD statement that PostgreSQL's
// COPY can't express. Callers either convert the rows themselves or refuse
// the statement with this error; they never drop the clause.
type UnsupportedError struct {
	// Clause names the clause: "LOAD XML", "REPLACE", "IGNORE", "PARTITION",
	// "CHARACTER SET", "FIELDS TERMINATED BY", "FIELDS ENCLOSED BY",
	// "FIELDS ESCAPED BY", "LINES STARTING BY", "LINES TERMINATED BY",
	// "IGNORE LINES", "column list" or "SET".
	Clause string
	Reason string // why COPY can't do it, with the value in question
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("PostgreSQL COPY cannot express %s: %s", e.Clause, e.Reason)
}
