package export

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/s3bridge/s3bridge/statement"
)

// CopyOptions are PostgreSQL COPY … TO options, as aws_s3's options
// argument gives them ('format csv, delimiter $$:$$, header true').
// s3bridge adds FORMAT jsonl and parquet, COMPRESSION gzip|zstd,
// MAX_FILE_SIZE bytes and NUMERIC_AS 'decimal(P,S)' (parquet).
type CopyOptions struct {
	Format    string // text (default), csv, jsonl, parquet
	Header    bool
	Delimiter *string
	Null      *string
	Quote     *string
	Escape    *string
	// ForceQuote lists columns to quote always (csv); ForceQuoteAll is *.
	ForceQuote    []string
	ForceQuoteAll bool
	Encoding      string
	Compression   string
	MaxFileSize   int64
	NumericAs     string
}

// ParseCopyOptions reads a comma-separated list of COPY options: each a
// name and a value that is a word, a number, a '…' or E'…' string, a
// $tag$…$tag$ string, * or a parenthesised column list; a boolean option
// alone means true. Only options COPY TO takes are accepted, so the result
// renders back (String) as options no text of the caller's reaches
// unquoted.
func ParseCopyOptions(s string) (*CopyOptions, error) {
	c := &CopyOptions{Format: FormatText}
	l := &optLexer{s: s}
	seen := map[string]bool{}
	for {
		l.space()
		if l.eof() {
			break
		}
		name := strings.ToLower(l.word())
		if name == "" {
			return nil, l.errorf("expected an option name")
		}
		if seen[name] {
			return nil, l.errorf("option %s given twice", name)
		}
		seen[name] = true
		if err := c.set(name, l); err != nil {
			return nil, err
		}
		l.space()
		if l.eof() {
			break
		}
		if !l.accept(',') {
			return nil, l.errorf("expected a comma after option %s", name)
		}
	}
	return c, c.check(seen)
}

func (c *CopyOptions) set(name string, l *optLexer) error {
	var err error
	str := func() *string {
		v, e := l.value()
		err = e
		return &v
	}
	switch name {
	case "format":
		c.Format = strings.ToLower(l.word())
		switch c.Format {
		case FormatText, FormatCSV, FormatJSONL, FormatParquet:
		case "binary":
			return l.errorf("FORMAT binary is not supported: use csv, text, jsonl or parquet")
		default:
			return l.errorf("FORMAT %q: want csv, text, jsonl or parquet", c.Format)
		}
	case "header":
		c.Header, err = l.boolean()
	case "delimiter":
		c.Delimiter = str()
	case "null":
		c.Null = str()
	case "quote":
		c.Quote = str()
	case "escape":
		c.Escape = str()
	case "encoding":
		c.Encoding = *str()
	case "force_quote":
		c.ForceQuote, c.ForceQuoteAll, err = l.columns()
	case "compression":
		c.Compression = strings.ToLower(*str())
	case "max_file_size":
		var v string
		if v, err = l.value(); err == nil {
			if c.MaxFileSize, err = ParseSize(v); err != nil {
				err = l.errorf("MAX_FILE_SIZE: %v", err)
			}
		}
	case "numeric_as":
		var v string
		if v, err = l.value(); err == nil {
			if _, err = ParseNumericAs(v); err != nil {
				err = l.errorf("NUMERIC_AS: %v", err)
			}
			c.NumericAs = v
		}
	default:
		return l.errorf("option %q is not a COPY TO option s3bridge takes (format, header, delimiter, null, quote, escape, force_quote, encoding, compression, max_file_size, numeric_as)", name)
	}
	return err
}

// check refuses combinations COPY itself would refuse, so they fail before
// the export starts.
func (c *CopyOptions) check(seen map[string]bool) error {
	csvOnly := []string{"quote", "escape", "force_quote"}
	delimited := []string{"header", "delimiter", "null", "quote", "escape", "force_quote", "encoding"}
	for _, o := range delimited {
		if seen[o] && (c.Format == FormatJSONL || c.Format == FormatParquet) {
			return fmt.Errorf("COPY option %s does not apply to FORMAT %s", o, c.Format)
		}
	}
	if seen["numeric_as"] && c.Format != FormatParquet {
		return fmt.Errorf("COPY option numeric_as is only for FORMAT parquet")
	}
	for _, o := range csvOnly {
		if seen[o] && c.Format != FormatCSV {
			return fmt.Errorf("COPY option %s is only for FORMAT csv", o)
		}
	}
	for name, v := range map[string]*string{"DELIMITER": c.Delimiter, "QUOTE": c.Quote, "ESCAPE": c.Escape} {
		if v != nil && len(*v) != 1 {
			return fmt.Errorf("COPY %s %q: must be a single one-byte character", name, *v)
		}
	}
	if c.Compression != "" && c.Compression != CompressGzip && c.Compression != CompressZstd {
		return fmt.Errorf("COMPRESSION %q: want gzip or zstd", c.Compression)
	}
	return nil
}

// String renders the options for COPY (…) TO STDOUT (…), every value
// quoted and s3bridge's own options left out. With HEADER true COPY's first
// row is the header, which the caller repeats at the top of every part.
// FORMAT jsonl and parquet never reach COPY.
func (c *CopyOptions) String() string {
	opts := []string{"FORMAT " + c.Format}
	if c.Header {
		opts = append(opts, "HEADER true")
	}
	for _, o := range []struct {
		name string
		v    *string
	}{{"DELIMITER", c.Delimiter}, {"NULL", c.Null}, {"QUOTE", c.Quote}, {"ESCAPE", c.Escape}} {
		if o.v != nil {
			opts = append(opts, o.name+" "+statement.QuoteLiteralPG(*o.v))
		}
	}
	switch {
	case c.ForceQuoteAll:
		opts = append(opts, "FORCE_QUOTE *")
	case len(c.ForceQuote) > 0:
		cols := make([]string, len(c.ForceQuote))
		for i, n := range c.ForceQuote {
			cols[i] = statement.QuoteIdentPG(n)
		}
		opts = append(opts, "FORCE_QUOTE ("+strings.Join(cols, ", ")+")")
	}
	if c.Encoding != "" {
		opts = append(opts, "ENCODING "+statement.QuoteLiteralPG(c.Encoding))
	}
	return strings.Join(opts, ", ")
}

// fields maps the delimiters onto FIELDS clauses, for the encoders that
// stand in for COPY when a part must be written without it.
func (c *CopyOptions) fields() Fields {
	var f Fields
	f.TerminatedBy = c.Delimiter
	if c.Format == FormatCSV {
		f.EnclosedBy, f.Optionally = c.Quote, !c.ForceQuoteAll
		f.EscapedBy = c.Escape
	}
	return f
}

// copyOptionsFor maps a delimited export onto COPY options when COPY
// writes exactly what the encoder would, and reports false otherwise (a
// line prefix, a terminator other than \n, a multi-byte delimiter, an
// escape other than backslash in text…): the rows then go through the
// encoder.
func copyOptionsFor(format string, d delimiter, header bool) (*CopyOptions, bool) {
	if d.lineStart != "" || d.lineEnd != "\n" || len(d.term) != 1 || d.term[0] == '\r' || d.term[0] == '\n' {
		return nil, false
	}
	c := &CopyOptions{Format: format, Header: header, Delimiter: &d.term}
	if format == FormatText {
		// COPY's text format escapes with a backslash, writes NULL as \N,
		// and refuses delimiters that would read as escapes.
		if d.escape != '\\' || d.enclose != 0 || strings.IndexByte("\\.abcdefghijklmnopqrstuvwxyz0123456789", d.term[0]) >= 0 {
			return nil, false
		}
		return c, true
	}
	if d.term[0] == d.enclose || d.term[0] == d.escape {
		return nil, false
	}
	q, e := string(d.enclose), string(d.escape)
	c.Quote, c.Escape, c.ForceQuoteAll = &q, &e, d.always
	return c, true
}

// optLexer reads an options string.
type optLexer struct {
	s string
	i int
}

func (l *optLexer) eof() bool { return l.i >= len(l.s) }

func (l *optLexer) errorf(format string, args ...any) error {
	return fmt.Errorf("options %q at byte %d: %s", l.s, l.i, fmt.Sprintf(format, args...))
}

func (l *optLexer) space() {
	for l.i < len(l.s) && strings.IndexByte(" \t\r\n", l.s[l.i]) >= 0 {
		l.i++
	}
}

func (l *optLexer) accept(c byte) bool {
	if l.i < len(l.s) && l.s[l.i] == c {
		l.i++
		return true
	}
	return false
}

func (l *optLexer) word() string {
	l.space()
	start := l.i
	for l.i < len(l.s) {
		c := l.s[l.i]
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			break
		}
		l.i++
	}
	return l.s[start:l.i]
}

// value reads a word or a quoted string.
func (l *optLexer) value() (string, error) {
	l.space()
	if l.eof() {
		return "", l.errorf("expected a value")
	}
	switch c := l.s[l.i]; {
	case c == '\'':
		return l.quoted(false)
	case (c == 'E' || c == 'e') && l.i+1 < len(l.s) && l.s[l.i+1] == '\'':
		l.i++
		return l.quoted(true)
	case c == '$':
		return l.dollar()
	}
	if w := l.word(); w != "" {
		return w, nil
	}
	return "", l.errorf("expected a value")
}

func (l *optLexer) quoted(escapes bool) (string, error) {
	l.i++ // opening quote
	var b strings.Builder
	for l.i < len(l.s) {
		c := l.s[l.i]
		l.i++
		switch {
		case c == '\'' && l.i < len(l.s) && l.s[l.i] == '\'':
			b.WriteByte('\'')
			l.i++
		case c == '\'':
			return b.String(), nil
		case c == '\\' && escapes && l.i < len(l.s):
			if err := l.escape(&b); err != nil {
				return "", err
			}
		case c == 0:
			return "", l.errorf("a NUL byte in a string (PostgreSQL text can't hold one)")
		default:
			b.WriteByte(c)
		}
	}
	return "", l.errorf("unterminated string")
}

// escape decodes one backslash escape of an E'…' string, as PostgreSQL
// does: \b \f \n \r \t, octal \o \oo \ooo, hex \xh \xhh, Unicode \uXXXX and
// \UXXXXXXXX, and any other character standing for itself. A zero byte is
// refused, as PostgreSQL refuses it.
func (l *optLexer) escape(b *strings.Builder) error {
	e := l.s[l.i]
	l.i++
	digits := func(max int, ok func(byte) bool) string {
		start := l.i
		for l.i < len(l.s) && l.i-start < max && ok(l.s[l.i]) {
			l.i++
		}
		return l.s[start:l.i]
	}
	isOct := func(c byte) bool { return c >= '0' && c <= '7' }
	isHex := func(c byte) bool { return strings.IndexByte("0123456789abcdefABCDEF", c) >= 0 }
	var v uint64
	var err error
	switch {
	case strings.IndexByte("bfnrt", e) >= 0:
		b.WriteString(map[byte]string{'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t"}[e])
		return nil
	case isOct(e):
		l.i--
		v, err = strconv.ParseUint(digits(3, isOct), 8, 16)
		if err == nil {
			v &= 0xff // as PostgreSQL: \777 is the byte 0xff
		}
	case e == 'x' && l.i < len(l.s) && isHex(l.s[l.i]):
		v, err = strconv.ParseUint(digits(2, isHex), 16, 8)
	case e == 'u' || e == 'U':
		n := map[byte]int{'u': 4, 'U': 8}[e]
		d := digits(n, isHex)
		if len(d) != n {
			return l.errorf("invalid Unicode escape \\%c%s", e, d)
		}
		v, err = strconv.ParseUint(d, 16, 32)
		if err == nil && (v == 0 || v > utf8.MaxRune || v >= 0xd800 && v <= 0xdfff) {
			return l.errorf("invalid Unicode escape value \\%c%s", e, d)
		}
		b.WriteRune(rune(v))
		return nil
	default:
		b.WriteByte(e)
		return nil
	}
	if err != nil {
		return l.errorf("invalid escape: %v", err)
	}
	if v == 0 {
		return l.errorf("a zero byte in a string (PostgreSQL text can't hold one)")
	}
	b.WriteByte(byte(v))
	return nil
}

func (l *optLexer) dollar() (string, error) {
	end := strings.IndexByte(l.s[l.i+1:], '$')
	if end < 0 {
		return "", l.errorf("unterminated $ quote")
	}
	tag := l.s[l.i : l.i+end+2]
	body := l.s[l.i+len(tag):]
	close := strings.Index(body, tag)
	if close < 0 {
		return "", l.errorf("unterminated %s string", tag)
	}
	l.i += len(tag) + close + len(tag)
	return body[:close], nil
}

func (l *optLexer) boolean() (bool, error) {
	save := l.i
	l.space()
	if l.eof() || l.s[l.i] == ',' {
		return true, nil
	}
	w, err := l.value()
	if err != nil {
		l.i = save
		return true, nil
	}
	switch strings.ToLower(w) {
	case "true", "on", "1":
		return true, nil
	case "false", "off", "0":
		return false, nil
	}
	return false, l.errorf("expected true or false, got %q", w)
}

// columns reads * or (name, …) for FORCE_QUOTE.
func (l *optLexer) columns() ([]string, bool, error) {
	l.space()
	if l.accept('*') {
		return nil, true, nil
	}
	if !l.accept('(') {
		return nil, false, l.errorf("expected * or (column, …)")
	}
	var cols []string
	for {
		l.space()
		var name string
		if l.accept('"') {
			end := strings.Index(l.s[l.i:], `"`)
			if end < 0 {
				return nil, false, l.errorf("unterminated quoted column name")
			}
			name, l.i = l.s[l.i:l.i+end], l.i+end+1
		} else if name = strings.ToLower(l.word()); name == "" {
			return nil, false, l.errorf("expected a column name")
		}
		cols = append(cols, name)
		l.space()
		if l.accept(')') {
			return cols, false, nil
		}
		if !l.accept(',') {
			return nil, false, l.errorf("expected , or ) in the column list")
		}
	}
}

// ParseSize reads a byte count: digits with an optional unit, K, M, G, T
// with or without B or iB, all powers of 1024 as in the CLI's flags (RDS's
// "6 GB" is 6 GiB).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	unit := strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(strings.TrimSpace(t[i:])), "b"), "i")
	mult := map[string]int64{"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[unit]
	if err != nil || mult == 0 || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, optionally with KB, MB, GB or TB", s)
	}
	return n * mult, nil
}
