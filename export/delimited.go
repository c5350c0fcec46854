package export

import (
	"fmt"
	"strings"

	"github.com/s3bridge/s3bridge/format/delimited"
)

// delimiter is the resolved FIELDS and LINES clauses of a csv or text
// export: what copyOptionsFor hands to COPY when it can, and otherwise, as
// a delimited.Dialect, what the rows are written with.
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

// dialect is the writer's form of the clauses.
func (d delimiter) dialect() delimited.Dialect {
	return delimited.Dialect{CSV: d.csv, FieldsTerminatedBy: d.term, FieldsEnclosedBy: d.enclose, AlwaysEnclosed: d.always,
		FieldsEscapedBy: d.escape, LinesStartingBy: d.lineStart, LinesTerminatedBy: d.lineEnd}
}
