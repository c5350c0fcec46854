package connector

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/s3bridge/s3bridge/format"
)

// options is how the parser's objects are decoded.
func (p Parser) options() (format.Options, error) {
	o := format.Options{Charset: charset(p.Charset), IgnoreLines: p.SkipHeaderLines}
	if p.SkipHeaderLines < 0 {
		return o, fmt.Errorf("config: in.parser.skip_header_lines %d is negative", p.SkipHeaderLines)
	}
	if _, err := format.Transcode(strings.NewReader(""), o.Charset); err != nil {
		return o, fmt.Errorf("config: in.parser.charset: %w", err)
	}
	switch p.Newline {
	case "", "LF", "CRLF":
	case "CR":
		o.LinesTerminatedBy = "\r"
	default:
		return o, fmt.Errorf("config: in.parser.newline %q: want CRLF, LF or CR", p.Newline)
	}
	if p.NullString != nil {
		o.NullString = *p.NullString
	}
	switch p.Type {
	case "jsonl", "json":
		o.Format = p.Type
		return o, nil
	case "csv", "tsv":
	default:
		return o, fmt.Errorf("config: in.parser.type %q: want csv, tsv, jsonl or json", p.Type)
	}
	delim := p.Delimiter
	if delim == "" {
		delim = map[string]string{"csv": ",", "tsv": "\t"}[p.Type]
	}
	quote := map[string]string{"csv": `"`, "tsv": ""}[p.Type]
	if p.Quote != nil {
		quote = *p.Quote
	}
	if len(quote) > 1 {
		return o, fmt.Errorf("config: in.parser.quote %q: one character or none", quote)
	}
	escape := quote
	if p.Escape != nil {
		escape = *p.Escape
	}
	if len(escape) > 1 {
		return o, fmt.Errorf("config: in.parser.escape %q: one character or none", escape)
	}
	o.FieldsTerminatedBy = delim
	if quote == "" {
		// Unquoted fields: the text format without its escapes, unless
		// the config names one.
		o.Format, o.NoEscape = "text", escape == ""
		if escape != "" {
			o.FieldsEscapedBy = escape
		}
		return o, nil
	}
	o.Format, o.FieldsEnclosedBy, o.NullEmpty = "csv", quote, true
	if escape != quote {
		o.FieldsEscapedBy = escape
	}
	return o, nil
}

// charset maps Embulk's charset names to the decoder's.
func charset(name string) string {
	switch strings.ToUpper(name) {
	case "", "UTF-8", "UTF8":
		return "utf8"
	case "ISO-8859-1":
		return "iso-8859-1"
	case "WINDOWS-1252", "CP1252", "MS1252":
		return "windows-1252"
	}
	return strings.ToLower(name)
}

// Dialects the rows are written for.
const (
	dialectPostgres = "postgres"
	dialectMySQL    = "mysql"
	dialectSQLite   = "sqlite"
)

// number is a long or double as written, so no digit is lost.
type number string

// MarshalJSON writes the number as a JSON number.
func (n number) MarshalJSON() ([]byte, error) { return []byte(n), nil }

// converter types one row's values.
type converter struct {
	cols  []Column
	times []*timeParser
	// isoUTC marks the timestamp columns whose format is
	// %Y-%m-%d %H:%M:%S in UTC: their text is checked and passed on.
	isoUTC  []bool
	trim    bool
	scratch []byte
}

func newConverter(p Parser) (*converter, error) {
	c := &converter{cols: p.Columns, times: make([]*timeParser, len(p.Columns)), isoUTC: make([]bool, len(p.Columns)), trim: p.TrimIfNotQuoted}
	for i, col := range p.Columns {
		if col.Type != TypeTimestamp {
			continue
		}
		tp, err := newTimeParser(cmpOr(col.Format, defaultTimestampFmt), cmpOr(col.Timezone, p.DefaultTimezone))
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", col.Name, err)
		}
		c.times[i] = tp
		c.isoUTC[i] = tp.loc == time.UTC && len(tp.layouts) == 1 && tp.layouts[0] == isoLayout
	}
	return c, nil
}

// direct writes column i's field as text() writes value()'s result, for
// the dialect, without typing it into an any first: a run with no filter
// converts every value this way, which is most of its CPU. Errors are
// value()'s. TestDirectIsTyped holds the two to the same bytes.
func (c *converter) direct(i int, v format.Value, dialect string) (format.Value, error) {
	if v.Null {
		return format.Value{Null: true}, nil
	}
	col := c.cols[i]
	s := v.S
	if col.Type != TypeString || c.trim {
		s = strings.TrimSpace(s)
	}
	if s == "" && col.Type != TypeString {
		return format.Value{Null: true}, nil
	}
	switch col.Type {
	case TypeString:
		return format.Value{S: s}, nil
	case TypeLong:
		n := strings.TrimPrefix(s, "+")
		if _, err := strconv.ParseInt(n, 10, 64); err != nil {
			return format.Value{}, fmt.Errorf("%q is not a long", s)
		}
		return format.Value{S: n}, nil
	case TypeDouble:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return format.Value{}, fmt.Errorf("%q is not a double", s)
		}
		c.scratch = strconv.AppendFloat(c.scratch[:0], f, 'g', -1, 64)
		if string(c.scratch) == s {
			return format.Value{S: s}, nil
		}
		return format.Value{S: string(c.scratch)}, nil
	case TypeTimestamp:
		if c.isoUTC[i] && isoDateTime(s) {
			switch dialect {
			case dialectMySQL:
				return format.Value{S: s}, nil
			case dialectPostgres:
				return format.Value{S: s + "Z"}, nil
			}
			return format.Value{S: s[:10] + "T" + s[11:] + "Z"}, nil
		}
	}
	typed, err := c.value(i, v)
	if err != nil {
		return format.Value{}, err
	}
	return text(typed, dialect), nil
}

// isoLayout is the Go layout of %Y-%m-%d %H:%M:%S (whose fields read one
// or two digits, as strftime's do); isoDateTime passes on the common
// zero-padded form of it.
var isoLayout, _ = layout("%Y-%m-%d %H:%M:%S")

// isoDateTime reports whether s is a valid time.DateTime (2006-01-02
// 15:04:05) as time.Parse reads it: two-digit fields in range, a day its
// month has.
func isoDateTime(s string) bool {
	if len(s) != len(time.DateTime) || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return false
	}
	num := func(at, n int) int {
		v := 0
		for _, c := range []byte(s[at : at+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, se := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59 {
		return false
	}
	return d <= time.Date(y, time.Month(mo)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// value types column i's field: nil, bool, number, time.Time,
// json.RawMessage or string.
func (c *converter) value(i int, v format.Value) (any, error) {
	if v.Null {
		return nil, nil
	}
	col := c.cols[i]
	s := v.S
	if col.Type != TypeString || c.trim {
		s = strings.TrimSpace(s)
	}
	if s == "" && col.Type != TypeString {
		return nil, nil
	}
	switch col.Type {
	case TypeLong:
		if _, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 64); err != nil {
			return nil, fmt.Errorf("%q is not a long", s)
		}
		return number(strings.TrimPrefix(s, "+")), nil
	case TypeDouble:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a double", s)
		}
		return number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	case TypeBoolean:
		switch {
		case slices.Contains(trueWords, s) || s == "1":
			return true, nil
		case slices.Contains(falseWords, s) || s == "0":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a boolean", s)
	case TypeTimestamp:
		t, err := c.times[i].parse(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a timestamp in the format %s", s, cmpOr(col.Format, defaultTimestampFmt))
		}
		return t.UTC(), nil
	case TypeJSON:
		if !json.Valid([]byte(s)) {
			return nil, fmt.Errorf("%q is not JSON", s)
		}
		return json.RawMessage(s), nil
	}
	return s, nil
}

// text writes a typed value as the dialect's bulk path reads it.
func text(v any, dialect string) format.Value {
	switch v := v.(type) {
	case nil:
		return format.Value{Null: true}
	case bool:
		if dialect == dialectPostgres {
			return format.Value{S: strconv.FormatBool(v)}
		}
		if v {
			return format.Value{S: "1"}
		}
		return format.Value{S: "0"}
	case time.Time:
		switch dialect {
		case dialectMySQL:
			return format.Value{S: v.Format("2006-01-02 15:04:05.999999")}
		case dialectPostgres:
			return format.Value{S: v.Format("2006-01-02 15:04:05.999999Z07:00")}
		}
		return format.Value{S: v.Format("2006-01-02T15:04:05.999999Z07:00")}
	case number:
		return format.Value{S: string(v)}
	case json.RawMessage:
		return format.Value{S: string(v)}
	case string:
		return format.Value{S: v}
	}
	return format.Value{S: fmt.Sprint(v)}
}

// rows reads typed rows out of one decompressed object.
type rows struct {
	rd     format.Reader
	conv   *converter
	p      Parser
	byName bool
	index  []int // by name: the record's field j goes to column index[j] (-1: none)
	seen   int
	out    []any
}

func newRows(r io.Reader, p Parser) (*rows, error) {
	o, err := p.options()
	if err != nil {
		return nil, err
	}
	conv, err := newConverter(p)
	if err != nil {
		return nil, err
	}
	rd, err := format.NewReader(r, o)
	if err != nil {
		return nil, err
	}
	return &rows{rd: rd, conv: conv, p: p, byName: p.Type == "jsonl" || p.Type == "json", out: make([]any, len(p.Columns))}, nil
}

// next returns the next typed row, or io.EOF. A *format.Error that is not
// Fatal leaves the reader at the next row.
func (r *rows) next() ([]any, error) {
	fields, err := r.fields()
	if err != nil {
		return nil, err
	}
	for i, v := range fields {
		typed, err := r.conv.value(i, v)
		if err != nil {
			return nil, &format.Error{Line: r.rd.Line(), Field: r.p.Columns[i].Name, Err: err}
		}
		r.out[i] = typed
	}
	return r.out, nil
}

// fields returns the next record's fields in column order, untyped.
func (r *rows) fields() ([]format.Value, error) {
	rec, err := r.rd.Next()
	if err != nil {
		return nil, err
	}
	return r.align(rec)
}

// nextText returns the next row as text for the dialect (converter.direct),
// into out, or io.EOF; errors as next's.
func (r *rows) nextText(out []format.Value, dialect string) error {
	fields, err := r.fields()
	if err != nil {
		return err
	}
	for i, v := range fields {
		if out[i], err = r.conv.direct(i, v, dialect); err != nil {
			return &format.Error{Line: r.rd.Line(), Field: r.p.Columns[i].Name, Err: err}
		}
	}
	return nil
}

// align puts a record's fields in column order: by position for csv and
// tsv, by name for JSON (keys no column names are ignored, missing ones
// are NULL).
func (r *rows) align(rec []format.Value) ([]format.Value, error) {
	n := len(r.p.Columns)
	if !r.byName {
		switch {
		case len(rec) == n:
			return rec, nil
		case len(rec) > n && r.p.AllowExtraColumns:
			return rec[:n], nil
		case len(rec) < n && r.p.AllowOptionalColumns:
			out := make([]format.Value, n)
			copy(out, rec)
			for i := len(rec); i < n; i++ {
				out[i] = format.Value{Null: true}
			}
			return out, nil
		}
		return nil, &format.Error{Line: r.rd.Line(), Err: fmt.Errorf("%d fields, but the config has %d columns "+
			"(allow_extra_columns or allow_optional_columns accept rows with more or fewer)", len(rec), n)}
	}
	if names := r.rd.Columns(); len(names) != r.seen {
		r.index = r.index[:0]
		for _, name := range names {
			r.index = append(r.index, columnIndex(r.p.Columns, name))
		}
		r.seen = len(names)
	}
	out := make([]format.Value, n)
	for i := range out {
		out[i] = format.Value{Null: true}
	}
	for j, v := range rec {
		if j < len(r.index) && r.index[j] >= 0 && !v.Null {
			out[r.index[j]] = v
		}
	}
	return out, nil
}

// columnIndex finds a JSON key's column: exactly, else case-insensitively.
func columnIndex(cols []Column, name string) int {
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	for i, c := range cols {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

// stream re-encodes typed rows in the text format (format.TextRow) for a
// dialect's bulk path: a pull reader, no goroutine.
type stream struct {
	rows     *rows
	layout   columnMap
	rc       rowContext // the object's key, for add_filename; the row's line
	filtered []any
	dialect  string
	file     string
	skipBad  bool
	onBad    func(file string, err error)
	buf      []byte
	off      int
	err      error
	rec      []format.Value
	// required is the index of the time column, -1 for none.
	required int
	// direct: the table's columns are the parser's, in order, with
	// nothing computed: rows go from text to text (rows.nextText).
	direct bool
}

// plain reports whether l is the parser's columns as they are: no filter
// computes, renames, drops, adds or defaults a column.
func (l columnMap) plain(p Parser) bool {
	if len(l) != len(p.Columns) || (len(l) > 0 && l[0].plan != nil) {
		return false
	}
	for i, s := range l {
		if s.in != i || s.file || s.def != nil || s.Type != p.Columns[i].Type {
			return false
		}
	}
	return true
}

// textOptions describe what a stream yields.
func textOptions() format.Options { return format.Options{Format: "text", Charset: "utf8mb4"} }

// decoderFor returns the load.Decoder of a parser for a dialect: each file's
// rows typed by the config's columns, filtered to l's, and re-encoded for
// the bulk path. l should be bound to the run (Config.filteredFor); one
// that is not is bound here, once for all the files: digest keys resolved
// in this process (${file:…} and literals), upload_time now.
// timeColumn (out.time_column, "" for none) must be set in every row: a
// row without it is a bad row.
func decoderFor(p Parser, l columnMap, dialect, timeColumn string, skipBad bool, onBad func(file string, err error)) func(file string, r io.Reader) io.Reader {
	required := -1
	if timeColumn != "" {
		required = l.find(timeColumn)
	}
	l, bindErr := l.bind(FilterRun{Start: time.Now()})
	return func(file string, r io.Reader) io.Reader {
		if bindErr != nil {
			return errReader{bindErr}
		}
		rs, err := newRows(r, p)
		if err != nil {
			return errReader{err}
		}
		return &stream{rows: rs, layout: l, rc: rowContext{key: objectKey(file)}, filtered: make([]any, len(l)), dialect: dialect, file: file,
			skipBad: skipBad, onBad: onBad, rec: make([]format.Value, len(l)), required: required, direct: l.plain(p)}
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func (s *stream) Read(p []byte) (int, error) {
	for s.off >= len(s.buf) {
		if s.err != nil {
			return 0, s.err
		}
		s.buf, s.off = s.buf[:0], 0
		// Fill about 64 KiB at a time: fewer, larger reads for the driver.
		for len(s.buf) < 64<<10 {
			err := s.fill()
			if err == nil {
				s.buf = format.TextRow(s.buf, s.rec)
				continue
			}
			if skippable(err, s.skipBad) {
				s.onBad(s.file, err)
				continue
			}
			s.err = err
			break
		}
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	return n, nil
}

// fill puts the next row's text in rec: by the direct path, or typed,
// filtered and written as text. A row without its time column is a bad row.
func (s *stream) fill() error {
	var missing bool
	if s.direct {
		if err := s.rows.nextText(s.rec, s.dialect); err != nil {
			return err
		}
		s.rc.line = s.rows.rd.Line()
		missing = s.required >= 0 && s.rec[s.required].Null
	} else {
		row, err := s.rows.next()
		if err != nil {
			return err
		}
		s.rc.line = s.rows.rd.Line()
		if err := s.layout.row(s.filtered, row, &s.rc); err != nil {
			return err
		}
		missing = s.required >= 0 && s.filtered[s.required] == nil
		for i, v := range s.filtered {
			s.rec[i] = text(v, s.dialect)
		}
	}
	if missing {
		return s.rc.bad(s.skipBad, s.layout[s.required].Name, errors.New("the time column (out.time_column) is NULL; every row needs one"))
	}
	return nil
}

// skippable reports whether a row's error skips the row rather than stop
// the run: a filter's bad record by its own stop_on_invalid_record, a
// parser's row error (not a fatal one) by the parser's.
func skippable(err error, skipBad bool) bool {
	var bad *badRecord
	if errors.As(err, &bad) {
		return bad.skip
	}
	var fe *format.Error
	return skipBad && errors.As(err, &fe) && !fe.Fatal
}
