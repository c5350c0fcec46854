package format

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Value is one field: Null means SQL NULL (\N in TEXT, the null string in
// CSV, JSON null, an absent JSON key or XML field, xsi:nil="true").
type Value struct {
	S    string
	Null bool
}

// Reader streams records out of one input.
type Reader interface {
	// Next returns the next record, or io.EOF after the last one. The
	// returned slice is reused by the next call; the strings in it are not
	// and may be kept.
	//
	// After a *Error that is not Fatal the bad record has been skipped and
	// Next may be called again to continue with the following record (how a
	// loader skips bad rows into an error report). After any other error,
	// Next returns the same error again.
	Next() ([]Value, error)
	// Columns names the fields when the format carries names: JSON keys, XML
	// field names, or the CSV/TEXT/TSV header when Options.Header is set
	// (read by NewReader). It is nil otherwise.
	//
	// For JSON and XML it is the union of the names seen so far, in
	// first-seen order, and every record is aligned to it (a missing name is
	// Null). A name first seen after the first record is appended, so the
	// record that introduced it is longer than the ones before: a caller
	// compares len(Columns()) after each Next to notice new names.
	Columns() []string
	// Line is the 1-based line number where the last record started, for
	// error messages. Lines are counted by '\n' bytes in the input, whatever
	// the line terminator.
	Line() int
}

// Options select the format and its MySQL LOAD DATA / PostgreSQL COPY
// clauses. The zero value of a field means its default for the format.
type Options struct {
	// Format is one of "text", "csv", "tsv", "jsonl", "json", "xml".
	Format string
	// FieldsTerminatedBy separates fields: default "\t" for text and tsv,
	// "," for csv. It may be several bytes long.
	FieldsTerminatedBy string
	// FieldsEnclosedBy is the quote byte: default `"` for csv, none for
	// text (MySQL's ENCLOSED BY ''); tsv has no quoting.
	FieldsEnclosedBy string
	// FieldsOptionallyEnclosed is accepted for MySQL compatibility: as in
	// MySQL, OPTIONALLY has no effect on input.
	FieldsOptionallyEnclosed bool
	// FieldsEscapedBy is the escape byte: default `\` for text and tsv. For
	// csv it has no default (quotes are doubled as in RFC 4180); when set,
	// it escapes a quote or itself inside a quoted field (PostgreSQL's
	// ESCAPE).
	FieldsEscapedBy string
	// NoEscape is MySQL's ESCAPED BY '' for text: no escape byte at all, so
	// \N is not NULL. It is needed because an empty FieldsEscapedBy means
	// the default.
	NoEscape bool
	// LinesStartingBy (text only) skips everything up to and including the
	// prefix before each record; input without the prefix is skipped, as in
	// MySQL.
	LinesStartingBy string
	// LinesTerminatedBy ends records: default "\n". csv and tsv also accept
	// "\r\n" when it is "\n"; text keeps the '\r' as MySQL does.
	LinesTerminatedBy string
	// IgnoreLines skips that many leading lines (IGNORE n LINES): text
	// skips lines as MySQL does (an escaped terminator does not end one),
	// csv and tsv skip records, and jsonl, json and xml skip records (IGNORE
	// n ROWS). With Header the first of them holds the names.
	IgnoreLines int
	// Header reads the first line as column names (csv, text, tsv); it
	// implies IgnoreLines >= 1. It is ignored by jsonl, json and xml, which
	// carry their names.
	Header bool
	// NullString is the text of a NULL field. csv: an unquoted field equal
	// to it is NULL (default: none). text and tsv: a field whose raw text
	// equals it is NULL, replacing the default \N rule.
	NullString string
	// NullEmpty makes an unquoted empty csv field NULL, PostgreSQL COPY
	// CSV's default; "" is then written as a quoted empty field.
	NullEmpty bool
	// LazyQuotes (csv) reads a quote inside an unquoted field, or after a
	// closing quote, as a literal character (MySQL's leniency) instead of
	// an error.
	LazyQuotes bool
	// RowsIdentifiedBy names the XML row element: default "<row>".
	RowsIdentifiedBy string
	// Charset is the input's character set (see Transcode): default utf8.
	// NewReader converts other charsets to UTF-8; "binary" turns off UTF-8
	// validation for loads into binary columns.
	Charset string
	// MaxRecordBytes caps one record (or one line skipped while searching)
	// so a file without terminators cannot exhaust memory: default 64 MiB.
	MaxRecordBytes int

	chunk int // tests: see window.chunk
}

// DefaultMaxRecordBytes is the default cap on one record.
const DefaultMaxRecordBytes = 64 << 20

// MaxColumns caps the distinct JSON keys and XML field names of one input,
// so that a file of ever-new keys cannot grow Columns without bound. It is
// MySQL's column limit, above PostgreSQL's 1600.
const MaxColumns = 4096

// formats lists the values Options.Format accepts, for error messages.
var formats = []string{"text", "csv", "tsv", "jsonl", "json", "xml"}

// NewReader returns a Reader of r in the format o describes. It validates
// the options, converts o.Charset to UTF-8 and, when o.Header is set for a
// delimited format, reads the header so that Columns is known at once.
func NewReader(r io.Reader, o Options) (Reader, error) {
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if o.IgnoreLines < 0 {
		return nil, fmt.Errorf("ignore lines: %d is negative", o.IgnoreLines)
	}
	cs := strings.ToLower(o.Charset)
	checkUTF8 := cs != "binary"
	if cs != "" && cs != "binary" {
		tr, err := Transcode(r, cs)
		if err != nil {
			return nil, err
		}
		r = tr
	}
	switch strings.ToLower(o.Format) {
	case "text":
		return newTextReader(r, o, false, checkUTF8)
	case "tsv":
		return newTextReader(r, o, true, checkUTF8)
	case "csv":
		return newCSVReader(r, o, checkUTF8)
	case "jsonl", "ndjson":
		return newJSONReader(r, o, true, checkUTF8), nil
	case "json":
		return newJSONReader(r, o, false, checkUTF8), nil
	case "xml":
		return newXMLReader(r, o)
	default:
		return nil, fmt.Errorf("format %q: unknown (supported: %s)", o.Format, strings.Join(formats, ", "))
	}
}

// Error is a parse error at a place in the input.
type Error struct {
	Line   int    // 1-based line of the error
	Column int    // 1-based byte column within the line; 0 if unknown
	Field  string // column name, or 1-based field index; "" if unknown
	Err    error
	// Fatal means the input cannot be resynchronised after this error (a
	// read or decompression error, or broken JSON/XML structure): Next
	// returns the error again instead of moving to the next record.
	Fatal bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("line ")
	b.WriteString(strconv.Itoa(e.Line))
	if e.Column > 0 {
		b.WriteString(" column ")
		b.WriteString(strconv.Itoa(e.Column))
	}
	if e.Field != "" {
		b.WriteString(" (field ")
		b.WriteString(strconv.Quote(e.Field))
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause, so errors.Is(err, ErrInvalidUTF8) or
// errors.Is(err, compress.ErrTooLarge) see through the position.
func (e *Error) Unwrap() error { return e.Err }

// Sentinel causes wrapped by *Error, for callers that branch on them.
var (
	ErrRecordTooLarge    = errors.New("record exceeds the size limit")
	ErrInvalidUTF8       = errors.New("invalid UTF-8")
	ErrUnterminatedQuote = errors.New("unterminated quoted field")
	ErrBareQuote         = errors.New(`bare quote in unquoted field`)
	ErrQuote             = errors.New("unexpected character after closing quote")
	ErrSyntax            = errors.New("syntax error")
	ErrTooManyColumns    = fmt.Errorf("more than %d distinct field names", MaxColumns)
)

// fieldName names field i (0-based) for an Error: the column name when the
// input has one, else its 1-based index.
func fieldName(cols []string, i int) string {
	if i < 0 {
		return ""
	}
	if i < len(cols) {
		return cols[i]
	}
	return strconv.Itoa(i + 1)
}

// single returns the one byte of an option that must be one byte, or -1
// when the option is empty.
func single(name, v string) (int, error) {
	switch len(v) {
	case 0:
		return -1, nil
	case 1:
		return int(v[0]), nil
	default:
		return 0, fmt.Errorf("%s %q: must be a single byte", name, v)
	}
}
