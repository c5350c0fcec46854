package statement

import (
	"fmt"
	"strings"
)

// PostgresCopyOptions returns the options for PostgreSQL's
// COPY tbl (cols) FROM STDIN (options) that read the load's input as Aurora
// would, without the parentheses, e.g. "FORMAT text, DELIMITER E'\t', NULL E'\\N'".
// The table and column names are left to the caller, which must resolve
// them against the catalogue (MySQL ignores the case of column names,
// quoted PostgreSQL names don't).
//
// Two shapes of input map onto COPY:
//
//   - MySQL's text format (FIELDS not ENCLOSED, ESCAPED BY '\\', the
//     default) becomes FORMAT text with the same DELIMITER and NULL '\N'.
//   - CSV (FIELDS [OPTIONALLY] ENCLOSED BY a quote, with an empty ESCAPED BY)
//     becomes FORMAT csv with DELIMITER, QUOTE, ESCAPE the quote itself (a
//     doubled quote stands for one, as in MySQL) and NULL 'NULL' (MySQL reads
//     an unquoted NULL word as NULL when fields are enclosed).
//
// In both, LINES TERMINATED BY must be '\n' or '\r\n'; IGNORE 1 LINES
// becomes HEADER true (for FORMAT text that needs PostgreSQL 15); CHARACTER
// SET becomes ENCODING for the character sets both servers know (MySQL's
// latin1 is Windows-1252). Without CHARACTER SET no ENCODING is given and
// the input is read in the connection's client_encoding.
//
// Everything else returns an *UnsupportedError naming the clause: LOAD XML,
// REPLACE, IGNORE, PARTITION, user variables in the column list, SET, LINES
// STARTING BY, other terminators and delimiters (multi-byte, or ones COPY
// reserves), other escape characters, IGNORE of more than one line and
// unknown character sets. The caller then converts the rows itself or
// refuses the statement with that error.
//
// The data, not the clauses, can still differ at the edges, and callers
// passing input through should know where: in text format PostgreSQL reads
// \Z, \f, \v, \x and octal digits after a backslash as escapes where MySQL
// reads the plain letter or digit (MySQL itself never writes them), and it
// accepts \r\n line ends where MySQL, told '\n', keeps the \r in the last
// field; in CSV, PostgreSQL also treats a quote in the middle of an
// unquoted field as opening a quoted section, where MySQL keeps it as data.
// Well-formed RFC 4180 files and files written by MySQL load the same.
func (l *Load) PostgresCopyOptions() (string, error) {
	if err := l.pgStatementSupported(); err != nil {
		return "", err
	}
	f, ln := l.Effective()
	var opts []string
	var err error
	if f.EnclosedBy == "" {
		opts, err = pgText(f)
	} else {
		opts, err = pgCSV(f)
	}
	if err != nil {
		return "", err
	}
	if ln.StartingBy != "" {
		return "", &UnsupportedError{"LINES STARTING BY", fmt.Sprintf("COPY has no line prefix to strip (%s)", QuoteLiteralMySQL(ln.StartingBy))}
	}
	if ln.TerminatedBy != "\n" && ln.TerminatedBy != "\r\n" {
		return "", &UnsupportedError{"LINES TERMINATED BY", fmt.Sprintf("COPY ends lines with '\\n' or '\\r\\n' only, not %s", QuoteLiteralMySQL(ln.TerminatedBy))}
	}
	if l.IgnoreLines == 1 {
		opts = append(opts, "HEADER true")
	}
	if l.Charset != "" {
		opts = append(opts, "ENCODING "+QuoteLiteralPG(pgEncoding(l.Charset)))
	}
	return strings.Join(opts, ", "), nil
}

// pgStatementSupported refuses the clauses that are about what happens to
// rows rather than how they are read.
func (l *Load) pgStatementSupported() error {
	switch {
	case l.XML:
		return &UnsupportedError{"LOAD XML", "COPY has no XML format"}
	case l.OnDuplicate == OnDuplicateReplace:
		return &UnsupportedError{"REPLACE", "COPY only inserts; replacing rows with duplicate keys needs a staging table and INSERT … ON CONFLICT"}
	case l.OnDuplicate == OnDuplicateIgnore:
		return &UnsupportedError{"IGNORE", "COPY only inserts; skipping rows with duplicate keys needs a staging table and INSERT … ON CONFLICT DO NOTHING"}
	case len(l.Partitions) > 0:
		return &UnsupportedError{"PARTITION", "COPY can't restrict rows to partitions; name the partition as the table instead"}
	case len(l.Set) > 0:
		return &UnsupportedError{"SET", fmt.Sprintf("COPY can't compute columns (SET %s = %s)", l.Set[0].Column, l.Set[0].Expr)}
	case l.IgnoreLines > 1:
		return &UnsupportedError{"IGNORE LINES", fmt.Sprintf("COPY's HEADER skips one line, not %d", l.IgnoreLines)}
	case l.Charset != "" && pgEncoding(l.Charset) == "":
		return &UnsupportedError{"CHARACTER SET", fmt.Sprintf("no PostgreSQL encoding matches MySQL's %s", l.Charset)}
	}
	for _, t := range l.Targets {
		if t.Var {
			return &UnsupportedError{"column list", fmt.Sprintf("COPY fills columns only, not the user variable @%s", t.Name)}
		}
	}
	return nil
}

// pgText maps MySQL's text format onto COPY's.
func pgText(f Fields) ([]string, error) {
	if f.EscapedBy != `\` {
		reason := "COPY's text format always escapes with a backslash and can't turn escaping off"
		if f.EscapedBy != "" {
			reason = fmt.Sprintf("COPY's text format always escapes with a backslash, not %s", QuoteLiteralMySQL(f.EscapedBy))
		}
		return nil, &UnsupportedError{"FIELDS ESCAPED BY", reason}
	}
	if err := pgDelimiter(f.TerminatedBy, false); err != nil {
		return nil, err
	}
	if f.TerminatedBy == "N" {
		return nil, &UnsupportedError{"FIELDS TERMINATED BY", `'N' is part of COPY's NULL marker \N`}
	}
	return []string{"FORMAT text", "DELIMITER " + QuoteLiteralPG(f.TerminatedBy), "NULL " + QuoteLiteralPG(`\N`)}, nil
}

// pgCSV maps MySQL's enclosed fields onto COPY's CSV format.
func pgCSV(f Fields) ([]string, error) {
	if f.EscapedBy != "" {
		return nil, &UnsupportedError{"FIELDS ESCAPED BY", fmt.Sprintf(
			"COPY's CSV format has no escape character like MySQL's %s (which also works outside quotes and reads \\N and \\n); use ESCAPED BY '' for RFC 4180 files, whose quotes are doubled",
			QuoteLiteralMySQL(f.EscapedBy))}
	}
	if err := pgDelimiter(f.TerminatedBy, true); err != nil {
		return nil, err
	}
	q := f.EnclosedBy
	switch {
	case q[0] >= 0x80 || q == "\n" || q == "\r":
		return nil, &UnsupportedError{"FIELDS ENCLOSED BY", fmt.Sprintf("COPY needs an ASCII quote character other than newline, not %s", QuoteLiteralMySQL(q))}
	case q == f.TerminatedBy:
		return nil, &UnsupportedError{"FIELDS ENCLOSED BY", "COPY needs the quote and the delimiter to differ"}
	case strings.Contains("NUL", q):
		return nil, &UnsupportedError{"FIELDS ENCLOSED BY", fmt.Sprintf("%s is part of the NULL word COPY must recognise", QuoteLiteralMySQL(q))}
	case strings.Contains("NUL", f.TerminatedBy):
		return nil, &UnsupportedError{"FIELDS TERMINATED BY", fmt.Sprintf("%s is part of the NULL word COPY must recognise", QuoteLiteralMySQL(f.TerminatedBy))}
	}
	return []string{"FORMAT csv", "DELIMITER " + QuoteLiteralPG(f.TerminatedBy), "QUOTE " + QuoteLiteralPG(q),
		"ESCAPE " + QuoteLiteralPG(q), "NULL 'NULL'"}, nil
}

// pgDelimiter applies COPY's rules for DELIMITER.
func pgDelimiter(d string, csv bool) error {
	var reason string
	switch {
	case len(d) != 1 || d[0] >= 0x80:
		reason = "COPY needs a delimiter of exactly one ASCII character"
	case d == "\n" || d == "\r":
		reason = "COPY can't delimit fields with a newline or carriage return"
	case d == "\x00":
		reason = "PostgreSQL strings can't hold NUL"
	case !csv && strings.Contains(`\.abcdefghijklmnopqrstuvwxyz0123456789`, d):
		reason = "COPY's text format reserves backslash, period, lower-case letters and digits"
	default:
		return nil
	}
	return &UnsupportedError{"FIELDS TERMINATED BY", fmt.Sprintf("%s: %s", QuoteLiteralMySQL(d), reason)}
}

// pgEncoding names the PostgreSQL encoding of a MySQL character set, or ""
// when there is none.
func pgEncoding(charset string) string {
	switch charset {
	case "utf8", "utf8mb3", "utf8mb4":
		return "UTF8"
	case "latin1":
		return "WIN1252" // MySQL's latin1 is Windows-1252, not ISO 8859-1
	case "latin2":
		return "LATIN2"
	case "latin5":
		return "LATIN5"
	case "latin7":
		return "LATIN7"
	case "cp1250", "cp1251", "cp1256", "cp1257":
		return "WIN" + charset[2:]
	case "cp866":
		return "WIN866"
	case "koi8r":
		return "KOI8R"
	case "koi8u":
		return "KOI8U"
	case "greek":
		return "ISO_8859_7"
	case "hebrew":
		return "ISO_8859_8"
	case "sjis":
		return "SJIS"
	case "ujis":
		return "EUC_JP"
	case "euckr":
		return "EUC_KR"
	case "gb2312":
		return "EUC_CN"
	case "gbk":
		return "GBK"
	case "gb18030":
		return "GB18030"
	case "big5":
		return "BIG5"
	}
	return ""
}
