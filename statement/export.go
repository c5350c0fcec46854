package statement

import (
	"strings"
)

// Format is the file format of an export.
type Format string

// Export formats. TEXT and CSV are Aurora's; PARQUET is s3bridge's
// extension.
const (
	FormatText    Format = "TEXT" // MySQL's SELECT … INTO OUTFILE format; the default
	FormatCSV     Format = "CSV"  // RFC 4180
	FormatParquet Format = "PARQUET"
)

// Encryption is the server-side encryption an export asks for.
type Encryption string

// Encryption settings, as Aurora spells them.
const (
	EncryptionDefault Encryption = ""        // no ENCRYPTION clause: the bucket's default
	EncryptionOn      Encryption = "ON"      // SSE-S3, like SSE_S3
	EncryptionOff     Encryption = "OFF"     // the bucket's default encryption
	EncryptionSSES3   Encryption = "SSE_S3"  // Amazon S3 managed keys
	EncryptionSSEKMS  Encryption = "SSE_KMS" // AWS KMS; KMSKeyID names a customer managed key
)

// Export is a parsed SELECT … INTO OUTFILE S3 statement.
type Export struct {
	// Query is the statement without its INTO OUTFILE S3 clause, byte for
	// byte otherwise, from its first token to its last (comments before and
	// after and the final semicolon are dropped), ready to run as is. It is
	// a single SELECT, WITH … SELECT or parenthesised query; see ParseExport.
	Query      string
	URI        string // verbatim
	Charset    string // lower case; empty when absent
	Format     Format // FormatText unless the statement says otherwise
	Header     bool   // FORMAT … HEADER: a line of column names at the top of each file
	Fields     Fields // empty Set flags mean the format's defaults
	Lines      Lines
	Manifest   bool // MANIFEST ON
	Overwrite  bool // OVERWRITE ON
	Encryption Encryption
	KMSKeyID   string // ENCRYPTION SSE_KMS 'key'; empty means the AWS managed key
	// PartSize is s3bridge's PARTSIZE extension: the size in bytes after
	// which a part file is closed (Aurora fixes it at 6 GB). Zero means
	// the default.
	PartSize int64
}

// ParseExport parses SELECT … INTO OUTFILE S3 's3-uri' [options] with
// Aurora MySQL's grammar. The INTO clause may stand at the end of the query
// or before its FROM, as MySQL allows; its options may come in any order,
// each at most once.
//
// The statement must be one query: SELECT, WITH … SELECT or a parenthesised
// SELECT or UNION. ParseExport refuses any other statement, a second
// statement, locking clauses (FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE),
// SELECT … INTO variables or tables, INTO OUTFILE or DUMPFILE without S3,
// INTO inside parentheses, and WITH clauses holding anything but queries.
// Every error is a *SyntaxError.
func ParseExport(sql string) (*Export, error) {
	p, err := newParser(sql)
	if err != nil {
		return nil, err
	}
	return p.export()
}

func (p *parser) export() (*Export, error) {
	toks := p.toks[:len(p.toks)-1] // without tokEOF
	if len(toks) == 0 {
		return nil, p.errorf(p.peek(), "empty statement")
	}
	if p.isPunct(toks[len(toks)-1], ";") {
		toks = toks[:len(toks)-1]
	}
	for _, t := range toks {
		if p.isPunct(t, ";") {
			return nil, p.errorf(t, "export needs a single SELECT statement; found more than one statement")
		}
	}
	if len(toks) == 0 {
		return nil, p.errorf(p.peek(), "empty statement")
	}
	depth, err := p.depths(toks)
	if err != nil {
		return nil, err
	}
	if err := p.checkQuery(toks); err != nil {
		return nil, err
	}
	into, err := p.findInto(toks, depth)
	if err != nil {
		return nil, err
	}
	p.i = into + 3 // INTO OUTFILE S3
	e, err := p.exportOptions()
	if err != nil {
		return nil, err
	}
	end := p.i
	if end < len(toks) && !p.isKeyword(toks[end], "FROM") {
		return nil, p.errorf(toks[end], "expected FROM or the end of the statement after INTO OUTFILE S3 options")
	}
	e.Query = p.queryText(toks, into, end)
	return e, nil
}

// depths gives each token's parenthesis depth and checks they balance.
func (p *parser) depths(toks []token) ([]int, error) {
	depth := make([]int, len(toks))
	var open []token
	for i, t := range toks {
		if p.isPunct(t, ")") {
			if len(open) == 0 {
				return nil, p.errorf(t, "unbalanced )")
			}
			open = open[:len(open)-1]
		}
		depth[i] = len(open)
		if p.isPunct(t, "(") {
			open = append(open, t)
		}
	}
	if len(open) > 0 {
		return nil, p.errorf(open[len(open)-1], "unclosed (")
	}
	return depth, nil
}

// checkQuery makes sure the statement is a query that reads: it starts with
// SELECT, WITH or "(", its WITH clause names only queries, and nothing in
// it locks rows.
func (p *parser) checkQuery(toks []token) error {
	i := 0
	for i < len(toks) && p.isPunct(toks[i], "(") {
		i++
	}
	t := tokenAt(toks, i)
	switch {
	case p.isKeyword(t, "SELECT"):
	case p.isKeyword(t, "WITH"):
		if err := p.checkWith(toks, i); err != nil {
			return err
		}
	default:
		return p.notSelect(t)
	}
	for i, t := range toks {
		if clause := p.lockingClause(toks, i); clause != "" {
			return p.errorf(t, "an export only reads: locking clause %s is not allowed", clause)
		}
	}
	return nil
}

// lockingClause names the row-locking clause starting at toks[i], or
// returns "". FOR SYSTEM_TIME (MariaDB's temporal tables) is not one.
func (p *parser) lockingClause(toks []token, i int) string {
	kw := func(n int, word string) bool { return p.isKeyword(tokenAt(toks, i+n), word) }
	switch {
	case kw(0, "FOR") && kw(1, "UPDATE"):
		return "FOR UPDATE"
	case kw(0, "FOR") && kw(1, "SHARE"):
		return "FOR SHARE"
	case kw(0, "FOR") && kw(1, "NO") && kw(2, "KEY"):
		return "FOR NO KEY UPDATE"
	case kw(0, "FOR") && kw(1, "KEY") && kw(2, "SHARE"):
		return "FOR KEY SHARE"
	case kw(0, "LOCK") && kw(1, "IN"):
		return "LOCK IN SHARE MODE"
	}
	return ""
}

func (p *parser) notSelect(t token) error {
	if t.kind == tokEOF {
		return p.errorf(t, "export needs a single SELECT statement")
	}
	return p.errorf(t, "export needs a single SELECT statement, not %s", strings.ToUpper(p.src[t.pos:t.end]))
}

// tokenAt returns toks[i], or an end token past the end.
func tokenAt(toks []token, i int) token {
	if i < len(toks) {
		return toks[i]
	}
	end := 0
	if len(toks) > 0 {
		end = toks[len(toks)-1].end
	}
	return token{kind: tokEOF, pos: end, end: end}
}

// checkWith walks WITH [RECURSIVE] name [(cols)] AS [[NOT] MATERIALIZED]
// (query), … and the statement after it. PostgreSQL allows INSERT, UPDATE,
// DELETE and MERGE inside WITH, so each body's first word is checked.
func (p *parser) checkWith(toks []token, i int) error {
	i++
	if p.isKeyword(tokenAt(toks, i), "RECURSIVE") {
		i++
	}
	for {
		if t := tokenAt(toks, i); t.kind != tokWord && t.kind != tokQuotedIdent {
			return p.errorf(t, "expected a WITH query name")
		}
		i++
		if p.isPunct(tokenAt(toks, i), "(") {
			i = p.skipGroup(toks, i)
		}
		if !p.isKeyword(tokenAt(toks, i), "AS") {
			return p.errorf(tokenAt(toks, i), "expected AS in WITH")
		}
		i++
		if p.isKeyword(tokenAt(toks, i), "NOT") {
			i++
		}
		if p.isKeyword(tokenAt(toks, i), "MATERIALIZED") {
			i++
		}
		if !p.isPunct(tokenAt(toks, i), "(") {
			return p.errorf(tokenAt(toks, i), "expected ( after AS in WITH")
		}
		body := tokenAt(toks, i+1)
		if !p.isKeyword(body, "SELECT") && !p.isKeyword(body, "WITH") && !p.isPunct(body, "(") &&
			!p.isKeyword(body, "VALUES") && !p.isKeyword(body, "TABLE") {
			return p.errorf(body, "an export only reads: WITH may name queries only, not %s", strings.ToUpper(p.src[body.pos:body.end]))
		}
		i = p.skipGroup(toks, i)
		if !p.isPunct(tokenAt(toks, i), ",") {
			break
		}
		i++
	}
	if t := tokenAt(toks, i); !p.isKeyword(t, "SELECT") && !p.isPunct(t, "(") {
		return p.notSelect(t)
	}
	return nil
}

// skipGroup returns the index just past the parenthesis group opening at i.
// depths has already checked that groups balance.
func (p *parser) skipGroup(toks []token, i int) int {
	depth := 0
	for ; i < len(toks); i++ {
		switch {
		case p.isPunct(toks[i], "("):
			depth++
		case p.isPunct(toks[i], ")"):
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return i
}

// findInto returns the index of the one INTO OUTFILE S3, refusing every
// other INTO: into variables (MySQL), into a new table (PostgreSQL), into a
// server file, or anywhere but the top level.
func (p *parser) findInto(toks []token, depth []int) (int, error) {
	found := -1
	for i, t := range toks {
		if !p.isKeyword(t, "INTO") {
			continue
		}
		next := tokenAt(toks, i+1)
		switch {
		case depth[i] > 0:
			return 0, p.errorf(t, "INTO is only allowed at the top level of the query, not inside parentheses")
		case p.isKeyword(next, "OUTFILE") && p.isKeyword(tokenAt(toks, i+2), "S3"):
			if found >= 0 {
				return 0, p.errorf(t, "only one INTO OUTFILE S3 clause is allowed")
			}
			found = i
		case p.isKeyword(next, "OUTFILE"):
			return 0, p.errorf(t, "INTO OUTFILE without S3 writes a file on the database server; use INTO OUTFILE S3 's3://…'")
		case p.isKeyword(next, "DUMPFILE"):
			return 0, p.errorf(t, "INTO DUMPFILE is not supported; use INTO OUTFILE S3 's3://…'")
		default:
			return 0, p.errorf(t, "SELECT … INTO variables or tables is not an export; use INTO OUTFILE S3 's3://…'")
		}
	}
	if found < 0 {
		return 0, p.errorf(tokenAt(toks, len(toks)), "expected INTO OUTFILE S3 's3://…'")
	}
	return found, nil
}

// queryText cuts the INTO clause, toks[into:end], out of the statement.
// Text before the clause (comments included) is kept up to INTO; text after
// it resumes at the next token, so the clause's own trailing whitespace and
// comments go with it.
func (p *parser) queryText(toks []token, into, end int) string {
	first := toks[0].pos
	if end >= len(toks) {
		return p.src[first:toks[into-1].end]
	}
	head := p.src[first:toks[into].pos]
	if !isSpace(head[len(head)-1]) {
		// "SELECT a/**/INTO … FROM" keeps the tokens apart.
		head += " "
	}
	return head + p.src[toks[end].pos:toks[len(toks)-1].end]
}

// exportOptions reads the URI and options of INTO OUTFILE S3. Options stop
// at the first token that doesn't start one.
func (p *parser) exportOptions() (*Export, error) {
	uri, t, err := p.str("S3 URI")
	if err != nil {
		return nil, err
	}
	if uri == "" {
		return nil, p.errorf(t, "empty S3 URI")
	}
	e := &Export{URI: uri, Format: FormatText}
	seen := map[string]token{}
	for {
		t := p.peek()
		name, err := p.exportOption(e, t)
		if err != nil {
			return nil, err
		}
		if name == "" {
			break
		}
		if _, dup := seen[name]; dup {
			return nil, p.errorf(t, "duplicate %s clause", name)
		}
		seen[name] = t
	}
	if e.Format == FormatParquet {
		for _, name := range []string{"CHARACTER SET", "FIELDS", "LINES"} {
			if t, ok := seen[name]; ok {
				return nil, p.errorf(t, "%s does not apply to FORMAT PARQUET", name)
			}
		}
	}
	return e, nil
}

// exportOption reads one option into e and returns its name, or "" when
// the next token starts none.
func (p *parser) exportOption(e *Export, t token) (string, error) {
	var err error
	switch {
	case p.isKeyword(t, "CHARACTER"), p.isKeyword(t, "CHAR"), p.isKeyword(t, "CHARSET"):
		var ok bool
		if e.Charset, ok, err = p.charset(); err == nil && !ok {
			return "", nil
		}
		return "CHARACTER SET", err
	case p.accept("FORMAT"):
		return "FORMAT", p.format(e)
	case p.accept("FIELDS"), p.accept("COLUMNS"):
		e.Fields, err = p.fields()
		return "FIELDS", err
	case p.accept("LINES"):
		e.Lines, err = p.lines()
		return "LINES", err
	case p.accept("MANIFEST"):
		e.Manifest, err = p.onOff("MANIFEST")
		return "MANIFEST", err
	case p.accept("OVERWRITE"):
		e.Overwrite, err = p.onOff("OVERWRITE")
		return "OVERWRITE", err
	case p.accept("ENCRYPTION"):
		return "ENCRYPTION", p.encryption(e)
	case p.accept("PARTSIZE"):
		at := p.peek()
		if e.PartSize, err = p.unsigned("PARTSIZE in bytes"); err == nil && e.PartSize == 0 {
			err = p.errorf(at, "PARTSIZE must be positive")
		}
		return "PARTSIZE", err
	}
	return "", nil
}

func (p *parser) format(e *Export) error {
	t := p.peek()
	switch {
	case p.accept("CSV"):
		e.Format = FormatCSV
	case p.accept("TEXT"):
		e.Format = FormatText
	case p.accept("PARQUET"):
		e.Format = FormatParquet
	default:
		return p.errorf(t, "expected CSV, TEXT or PARQUET after FORMAT")
	}
	t = p.peek()
	if p.accept("HEADER") {
		if e.Format == FormatParquet {
			return p.errorf(t, "HEADER applies to FORMAT CSV and FORMAT TEXT only")
		}
		e.Header = true
	}
	return nil
}

func (p *parser) onOff(option string) (bool, error) {
	switch {
	case p.accept("ON"):
		return true, nil
	case p.accept("OFF"):
		return false, nil
	}
	return false, p.errorf(p.peek(), "expected ON or OFF after %s", option)
}

func (p *parser) encryption(e *Export) error {
	t := p.peek()
	for _, enc := range []Encryption{EncryptionOn, EncryptionOff, EncryptionSSES3, EncryptionSSEKMS} {
		if p.accept(string(enc)) {
			e.Encryption = enc
			break
		}
	}
	if e.Encryption == EncryptionDefault {
		return p.errorf(t, "expected ON, OFF, SSE_S3 or SSE_KMS after ENCRYPTION")
	}
	if e.Encryption == EncryptionSSEKMS && (p.peek().kind == tokString || p.peek().kind == tokBinary) {
		key, kt, err := p.str("KMS key id")
		if err != nil {
			return err
		}
		if key == "" {
			return p.errorf(kt, "empty KMS key id")
		}
		e.KMSKeyID = key
	}
	return nil
}
