package statement

import (
	"strings"
)

// Source says how a LOAD statement's URI names its input.
type Source int

// Sources, as written after FROM S3.
const (
	SourceFile     Source = iota // FILE (the default): one object
	SourcePrefix                 // PREFIX: every object whose key starts with the URI's key
	SourceManifest               // MANIFEST: the objects listed in a JSON manifest
)

// String returns the keyword: FILE, PREFIX or MANIFEST.
func (s Source) String() string {
	switch s {
	case SourcePrefix:
		return "PREFIX"
	case SourceManifest:
		return "MANIFEST"
	}
	return "FILE"
}

// OnDuplicate says what a load does with a row whose unique key is already
// in the table.
type OnDuplicate string

// Duplicate handling, as written before INTO TABLE.
const (
	OnDuplicateError   OnDuplicate = ""        // neither keyword: the load fails
	OnDuplicateReplace OnDuplicate = "REPLACE" // the new row replaces the old one
	OnDuplicateIgnore  OnDuplicate = "IGNORE"  // the new row is dropped
)

// Fields holds a FIELDS (or COLUMNS) clause. Each value comes with a flag
// saying whether the statement gave it, because an explicit empty string
// differs from an absent option (no enclosing vs. the default).
type Fields struct {
	TerminatedBy       string // any length, possibly ''
	EnclosedBy         string // one byte or ''
	EscapedBy          string // one byte or ''
	OptionallyEnclosed bool   // OPTIONALLY ENCLOSED BY; on input it means the same as ENCLOSED BY
	TerminatedSet      bool
	EnclosedSet        bool
	EscapedSet         bool
}

// Lines holds a LINES clause, with the same explicit-value flags as Fields.
type Lines struct {
	StartingBy    string
	TerminatedBy  string
	StartingSet   bool
	TerminatedSet bool
}

// Target is one entry of a LOAD column list: a column, or a user variable
// (@name) that SET expressions can use.
type Target struct {
	Name string // without the @ and unquoted
	Var  bool
}

// Assignment is one col = expr of a SET clause.
type Assignment struct {
	Column string
	// Expr is the expression exactly as written: a substring of the
	// statement from its first token to its last. It is SQL for the
	// database to evaluate with the caller's privileges, never parsed here
	// beyond balancing parentheses.
	Expr string
}

// Load is a parsed LOAD DATA FROM S3 or LOAD XML FROM S3 statement.
// Identifiers are unquoted and compared by the database's rules (MySQL
// ignores the case of column names; a PostgreSQL caller must resolve them
// against its catalogue rather than quote them as written).
type Load struct {
	XML         bool   // LOAD XML rather than LOAD DATA
	Source      Source // FILE, PREFIX or MANIFEST
	URI         string // verbatim: s3://…, s3-REGION://… or whatever the user wrote
	OnDuplicate OnDuplicate
	Schema      string   // the db of db.tbl; empty when unqualified
	Table       string   // the table name
	Partitions  []string // PARTITION (…); nil when absent. Callers that can't honour it must refuse.
	Charset     string   // lower case; empty when absent
	Fields      Fields   // LOAD DATA only
	Lines       Lines    // LOAD DATA only
	IgnoreLines int64    // IGNORE n LINES|ROWS: lines (LOAD DATA) or rows (LOAD XML) to skip
	// RowsIdentifiedBy is the XML element holding one row, as written
	// with its angle brackets; "<row>" unless the statement says otherwise.
	// Empty for LOAD DATA.
	RowsIdentifiedBy string
	Targets          []Target     // the column list; nil when absent or ()
	Set              []Assignment // nil when absent
}

// ParseLoad parses LOAD DATA FROM S3 or LOAD XML FROM S3 with Aurora
// MySQL's grammar (see the package documentation). Clauses must appear in
// Aurora's order; anything it doesn't know is an error, never skipped.
// Every error is a *SyntaxError.
func ParseLoad(sql string) (*Load, error) {
	p, err := newParser(sql)
	if err != nil {
		return nil, err
	}
	return p.load()
}

func (p *parser) load() (*Load, error) {
	l, err := p.loadHead()
	if err != nil {
		return nil, err
	}
	if err := p.loadTable(l); err != nil {
		return nil, err
	}
	if err := p.loadFormat(l); err != nil {
		return nil, err
	}
	if err := p.loadColumns(l); err != nil {
		return nil, err
	}
	if err := p.endLoad(l); err != nil {
		return nil, err
	}
	return l, nil
}

// loadHead reads LOAD {DATA|XML} [FROM] S3 [FILE|PREFIX|MANIFEST] 'uri'
// [REPLACE|IGNORE].
func (p *parser) loadHead() (*Load, error) {
	start := p.peek()
	if !p.accept("LOAD") {
		return nil, p.errorf(start, "expected LOAD DATA or LOAD XML")
	}
	l := &Load{}
	switch {
	case p.accept("DATA"):
	case p.accept("XML"):
		l.XML = true
		l.RowsIdentifiedBy = "<row>"
	default:
		return nil, p.errorf(p.peek(), "expected DATA or XML after LOAD")
	}
	at := p.peek()
	p.accept("FROM")
	if !p.accept("S3") {
		if p.isKeyword(p.peek(), "LOCAL") || p.isKeyword(p.peek(), "INFILE") || p.isKeyword(p.peek(), "LOW_PRIORITY") || p.isKeyword(p.peek(), "CONCURRENT") {
			return nil, p.errorf(at, "only LOAD … FROM S3 is supported; LOCAL and INFILE name files on the client or server")
		}
		return nil, p.errorf(at, "expected FROM S3")
	}
	switch {
	case p.accept("PREFIX"):
		l.Source = SourcePrefix
	case p.accept("MANIFEST"):
		l.Source = SourceManifest
	default:
		p.accept("FILE")
	}
	uri, t, err := p.str("S3 URI")
	if err != nil {
		return nil, err
	}
	if uri == "" {
		return nil, p.errorf(t, "empty S3 URI")
	}
	l.URI = uri
	switch {
	case p.accept("REPLACE"):
		l.OnDuplicate = OnDuplicateReplace
	case p.accept("IGNORE"):
		l.OnDuplicate = OnDuplicateIgnore
	}
	return l, nil
}

// loadTable reads INTO TABLE [db.]tbl [PARTITION (p, …)] [CHARACTER SET cs].
func (p *parser) loadTable(l *Load) error {
	if err := p.expect("INTO", "TABLE"); err != nil {
		return err
	}
	name, err := p.name("table name")
	if err != nil {
		return err
	}
	l.Table = name
	if p.acceptPunct(".") {
		if l.Table, err = p.name("table name after the database name"); err != nil {
			return err
		}
		l.Schema = name
	}
	if p.accept("PARTITION") {
		if err := p.expectPunct("("); err != nil {
			return err
		}
		for {
			part, err := p.name("partition name")
			if err != nil {
				return err
			}
			l.Partitions = append(l.Partitions, part)
			if !p.acceptPunct(",") {
				break
			}
		}
		if err := p.expectPunct(")"); err != nil {
			return err
		}
	}
	l.Charset, _, err = p.charset()
	return err
}

// loadFormat reads ROWS IDENTIFIED BY (LOAD XML), FIELDS and LINES (LOAD
// DATA) and IGNORE n {LINES|ROWS}.
func (p *parser) loadFormat(l *Load) error {
	t := p.peek()
	if p.accept("ROWS", "IDENTIFIED", "BY") {
		if !l.XML {
			return p.errorf(t, "ROWS IDENTIFIED BY is only allowed in LOAD XML")
		}
		v, vt, err := p.str("element name")
		if err != nil {
			return err
		}
		if v == "" {
			return p.errorf(vt, "empty ROWS IDENTIFIED BY element")
		}
		l.RowsIdentifiedBy = v
	}
	t = p.peek()
	if p.accept("FIELDS") || p.accept("COLUMNS") {
		if l.XML {
			return p.errorf(t, "FIELDS is not allowed in LOAD XML")
		}
		f, err := p.fields()
		if err != nil {
			return err
		}
		l.Fields = f
	}
	t = p.peek()
	if p.accept("LINES") {
		if l.XML {
			return p.errorf(t, "LINES is not allowed in LOAD XML")
		}
		lines, err := p.lines()
		if err != nil {
			return err
		}
		l.Lines = lines
	}
	// IGNORE here is only IGNORE n LINES; a misplaced IGNORE meaning
	// "skip duplicates" falls through to endLoad's error.
	if p.isKeyword(p.peek(), "IGNORE") && p.peekAt(1).kind == tokNumber {
		p.i++
		n, err := p.unsigned("number of lines")
		if err != nil {
			return err
		}
		if !p.accept("LINES") && !p.accept("ROWS") {
			return p.errorf(p.peek(), "expected LINES or ROWS after IGNORE %d", n)
		}
		l.IgnoreLines = n
	}
	return nil
}

// loadColumns reads the column list and SET clause.
func (p *parser) loadColumns(l *Load) error {
	if p.acceptPunct("(") && !p.acceptPunct(")") {
		for {
			t := p.peek()
			switch t.kind {
			case tokVar:
				if t.val == "" {
					return p.errorf(t, "empty user variable name")
				}
				l.Targets = append(l.Targets, Target{Name: t.val, Var: true})
			case tokWord, tokQuotedIdent:
				l.Targets = append(l.Targets, Target{Name: t.val})
			default:
				return p.errorf(t, "expected column name or @variable")
			}
			p.i++
			if !p.acceptPunct(",") {
				break
			}
		}
		if err := p.expectPunct(")"); err != nil {
			return err
		}
	}
	if !p.accept("SET") {
		return nil
	}
	for {
		col, err := p.name("column name after SET")
		if err != nil {
			return err
		}
		if !p.acceptPunct("=") && !p.acceptPunct(":=") {
			return p.errorf(p.peek(), "expected = after SET %s", col)
		}
		expr, err := p.expr()
		if err != nil {
			return err
		}
		l.Set = append(l.Set, Assignment{Column: col, Expr: expr})
		if !p.acceptPunct(",") {
			return nil
		}
	}
}

// expr takes the text of an expression up to a comma outside parentheses
// or the end of the statement.
func (p *parser) expr() (string, error) {
	first, last := p.peek(), p.peek()
	depth, n := 0, 0
	for ; ; n++ {
		t := p.peek()
		switch {
		case t.kind == tokEOF, p.isPunct(t, ";"), depth == 0 && p.isPunct(t, ","):
			if depth > 0 {
				return "", p.errorf(t, "expected ) to close the expression")
			}
			if n == 0 {
				return "", p.errorf(t, "expected expression")
			}
			return p.src[first.pos:last.end], nil
		case p.isPunct(t, "("):
			depth++
		case p.isPunct(t, ")"):
			if depth == 0 {
				return "", p.errorf(t, "unbalanced )")
			}
			depth--
		}
		last = p.advance()
	}
}

// endLoad accepts an optional semicolon and the end of input, and explains
// anything else: usually a clause out of Aurora's order.
func (p *parser) endLoad(l *Load) error {
	t := p.peek()
	if p.acceptPunct(";") {
		if p.peek().kind != tokEOF {
			return p.errorf(p.peek(), "multiple statements are not allowed")
		}
		return nil
	}
	if t.kind == tokEOF {
		return nil
	}
	if clause := p.loadClause(t); clause != "" {
		order := "[REPLACE|IGNORE] INTO TABLE [PARTITION] [CHARACTER SET] [FIELDS] [LINES] [IGNORE n LINES] [(columns)] [SET]"
		if l.XML {
			order = "[REPLACE|IGNORE] INTO TABLE [PARTITION] [CHARACTER SET] [ROWS IDENTIFIED BY] [IGNORE n ROWS] [(columns)] [SET]"
		}
		return p.errorf(t, "%s is repeated or out of order; clauses go in the order %s", clause, order)
	}
	return p.errorf(t, "expected end of statement")
}

// loadClause names the LOAD clause t starts, or returns "".
func (p *parser) loadClause(t token) string {
	if p.isPunct(t, "(") {
		return "the column list"
	}
	if t.kind != tokWord {
		return ""
	}
	switch kw := strings.ToUpper(t.val); kw {
	case "REPLACE", "IGNORE", "PARTITION", "FIELDS", "COLUMNS", "LINES", "SET":
		return kw
	case "INTO":
		return "INTO TABLE"
	case "CHARACTER", "CHARSET", "CHAR":
		return "CHARACTER SET"
	case "ROWS":
		return "ROWS IDENTIFIED BY"
	}
	return ""
}

// RowElement returns the XML element name of RowsIdentifiedBy without its
// angle brackets ("row" for "<row>").
func (l *Load) RowElement() string {
	s := l.RowsIdentifiedBy
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		return s[1 : len(s)-1]
	}
	return s
}

// Effective returns the FIELDS and LINES values in force: the statement's,
// with MySQL's defaults for those it leaves out (fields terminated by tab,
// not enclosed, escaped by backslash; lines terminated by newline, no
// prefix). The Set flags still say which values the statement gave.
func (l *Load) Effective() (Fields, Lines) {
	f, ln := l.Fields, l.Lines
	if !f.TerminatedSet {
		f.TerminatedBy = "\t"
	}
	if !f.EscapedSet {
		f.EscapedBy = `\`
	}
	if !ln.TerminatedSet {
		ln.TerminatedBy = "\n"
	}
	return f, ln
}
