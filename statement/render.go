package statement

import (
	"cmp"
	"strconv"
	"strings"
)

// MariaDBLocalInfile renders the load as the MariaDB (or MySQL) statement
// that does the same from a client-side file:
//
//	LOAD DATA LOCAL INFILE 'fileName' [REPLACE|IGNORE] INTO TABLE `db`.`tbl`
//	  [PARTITION (…)] [CHARACTER SET cs] [FIELDS …] [LINES …]
//	  [IGNORE n LINES] [(`col`, @`var`, …)] [SET `col` = expr, …]
//
// and for LOAD XML: LOAD XML LOCAL INFILE 'fileName' … ROWS IDENTIFIED BY
// '<row>' … IGNORE n ROWS …. fileName is typically go-sql-driver's reader
// handler name, "Reader::name". Only clauses the statement gave are
// rendered, so MariaDB's defaults (which are Aurora's) apply to the rest.
// Identifiers are backquoted and strings quoted by QuoteIdentMySQL and
// QuoteLiteralMySQL (so the connection must not use NO_BACKSLASH_ESCAPES);
// SET expressions are copied verbatim, to run with the connection's
// privileges.
//
// Beware that with LOCAL the server can't stop the client mid-file, so
// MariaDB treats duplicate keys and bad values as warnings, as if IGNORE
// were given. A caller wanting Aurora's fail-on-error behaviour without
// REPLACE or IGNORE must check the warnings.
func (l *Load) MariaDBLocalInfile(fileName string) string {
	var b strings.Builder
	b.WriteString(l.verb())
	b.WriteString(" LOCAL INFILE ")
	b.WriteString(QuoteLiteralMySQL(fileName))
	l.writeTail(&b)
	return b.String()
}

// String renders the load as Aurora MySQL text in canonical form. Parsing
// it gives back an equal Load.
func (l *Load) String() string {
	var b strings.Builder
	b.WriteString(l.verb())
	b.WriteString(" FROM S3 ")
	if l.Source != SourceFile {
		b.WriteString(l.Source.String())
		b.WriteByte(' ')
	}
	b.WriteString(QuoteLiteralMySQL(l.URI))
	l.writeTail(&b)
	return b.String()
}

func (l *Load) verb() string {
	if l.XML {
		return "LOAD XML"
	}
	return "LOAD DATA"
}

// writeTail writes every clause after the input's name, which MariaDB's
// LOAD … INFILE and Aurora's LOAD … FROM S3 share.
func (l *Load) writeTail(b *strings.Builder) {
	if l.OnDuplicate != OnDuplicateError {
		b.WriteString(" " + string(l.OnDuplicate))
	}
	b.WriteString(" INTO TABLE ")
	if l.Schema != "" {
		b.WriteString(QuoteIdentMySQL(l.Schema) + ".")
	}
	b.WriteString(QuoteIdentMySQL(l.Table))
	if len(l.Partitions) > 0 {
		b.WriteString(" PARTITION (")
		for i, part := range l.Partitions {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(QuoteIdentMySQL(part))
		}
		b.WriteByte(')')
	}
	writeCharset(b, l.Charset)
	if l.XML {
		b.WriteString(" ROWS IDENTIFIED BY " + QuoteLiteralMySQL(l.RowsIdentifiedBy))
	}
	l.Fields.write(b)
	l.Lines.write(b)
	if l.IgnoreLines > 0 {
		unit := " LINES"
		if l.XML {
			unit = " ROWS"
		}
		b.WriteString(" IGNORE " + strconv.FormatInt(l.IgnoreLines, 10) + unit)
	}
	if len(l.Targets) > 0 {
		b.WriteString(" (")
		for i, t := range l.Targets {
			if i > 0 {
				b.WriteString(", ")
			}
			if t.Var {
				b.WriteByte('@')
			}
			b.WriteString(QuoteIdentMySQL(t.Name))
		}
		b.WriteByte(')')
	}
	for i, a := range l.Set {
		if i == 0 {
			b.WriteString(" SET ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(QuoteIdentMySQL(a.Column) + " = " + a.Expr)
	}
}

// writeCharset writes CHARACTER SET unquoted: the parser admits only
// letters, digits and underscores, and unquoted is the one form that also
// works for the names "binary" and "default", which are keywords.
func writeCharset(b *strings.Builder, cs string) {
	if cs != "" {
		b.WriteString(" CHARACTER SET " + cs)
	}
}

// write renders the options the statement gave, in MySQL's usual order.
func (f Fields) write(b *strings.Builder) {
	if !f.TerminatedSet && !f.EnclosedSet && !f.EscapedSet {
		return
	}
	b.WriteString(" FIELDS")
	if f.TerminatedSet {
		b.WriteString(" TERMINATED BY " + QuoteLiteralMySQL(f.TerminatedBy))
	}
	if f.EnclosedSet {
		if f.OptionallyEnclosed {
			b.WriteString(" OPTIONALLY")
		}
		b.WriteString(" ENCLOSED BY " + QuoteLiteralMySQL(f.EnclosedBy))
	}
	if f.EscapedSet {
		b.WriteString(" ESCAPED BY " + QuoteLiteralMySQL(f.EscapedBy))
	}
}

func (l Lines) write(b *strings.Builder) {
	if !l.StartingSet && !l.TerminatedSet {
		return
	}
	b.WriteString(" LINES")
	if l.StartingSet {
		b.WriteString(" STARTING BY " + QuoteLiteralMySQL(l.StartingBy))
	}
	if l.TerminatedSet {
		b.WriteString(" TERMINATED BY " + QuoteLiteralMySQL(l.TerminatedBy))
	}
}

// String renders the export as Aurora MySQL text: Query followed by its
// INTO OUTFILE S3 clause with the options that differ from the defaults.
// Parsing it gives back an equal Export.
func (e *Export) String() string {
	var b strings.Builder
	b.WriteString(e.Query)
	b.WriteString(" INTO OUTFILE S3 " + QuoteLiteralMySQL(e.URI))
	writeCharset(&b, e.Charset)
	if f := cmp.Or(e.Format, FormatText); f != FormatText || e.Header {
		b.WriteString(" FORMAT " + string(f))
		if e.Header {
			b.WriteString(" HEADER")
		}
	}
	e.Fields.write(&b)
	e.Lines.write(&b)
	if e.Manifest {
		b.WriteString(" MANIFEST ON")
	}
	if e.Overwrite {
		b.WriteString(" OVERWRITE ON")
	}
	if e.Encryption != EncryptionDefault {
		b.WriteString(" ENCRYPTION " + string(e.Encryption))
		if e.Encryption == EncryptionSSEKMS && e.KMSKeyID != "" {
			b.WriteString(" " + QuoteLiteralMySQL(e.KMSKeyID))
		}
	}
	if e.PartSize > 0 {
		b.WriteString(" PARTSIZE " + strconv.FormatInt(e.PartSize, 10))
	}
	return b.String()
}
