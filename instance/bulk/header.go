package bulk

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/s3bridge/s3bridge/format"
)

// ByHeader reports whether each file's fields go to the columns its header
// names: a csv, tsv or text load with a header. An explicit column list
// wins over the header (the user said which column each field is for, in
// order, so the header is only skipped), and so does an Aurora statement,
// whose IGNORE 1 LINES is positional in Aurora too.
func (t Target) ByHeader() bool {
	switch strings.ToLower(t.Options.Format) {
	case "csv", "tsv", "text":
	default:
		return false
	}
	return t.Options.Header && len(t.Columns) == 0 && t.Statement == ""
}

// FileColumns returns the columns one file's fields go to: cols as they
// are, or, when the load maps by header (ByHeader), the table's columns
// (all) that the file's header names, in the header's order. The reader
// it returns is the whole file again, header included.
func (t Target) FileColumns(r io.Reader, cols, all []string) ([]string, io.Reader, bool, error) {
	if !t.ByHeader() {
		return cols, r, false, nil
	}
	names, whole, err := ReadHeader(r, t.Options)
	if err != nil {
		return nil, nil, false, err
	}
	if cols, err = HeaderColumns(t.Table, names, all); err != nil {
		return nil, nil, false, err
	}
	return cols, whole, true, nil
}

// ReadHeader reads the header record at the start of r, a delimited file
// in the format o describes, and returns its names and a reader of the
// whole input, header included, so that the database or the decoder skips
// it as usual and counts lines from the top of the file. Only the header's
// bytes are held: the rest of the input streams on. An empty input has no
// names.
func ReadHeader(r io.Reader, o format.Options) ([]string, io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	limit := cmp.Or(o.MaxRecordBytes, format.DefaultMaxRecordBytes)
	sc := newHeaderScan(o)
	var head []byte
	for {
		line, err := br.ReadSlice('\n')
		head = append(head, line...)
		if len(head) > limit {
			return nil, nil, &format.Error{Line: 1, Err: fmt.Errorf("header: %w", format.ErrRecordTooLarge)}
		}
		if sc.complete(line) || err == io.EOF {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return nil, nil, &format.Error{Line: 1, Err: err, Fatal: true}
		}
	}
	names, err := headerNames(head, o)
	if err != nil {
		return nil, nil, err
	}
	return names, io.MultiReader(bytes.NewReader(head), br), nil
}

// headerNames decodes the header's bytes with the load's own decoder, so
// quoting, escapes, a byte order mark and the charset are read the way the
// rows are.
func headerNames(head []byte, o format.Options) ([]string, error) {
	o.Header, o.IgnoreLines = true, 0
	rd, err := format.NewReader(bytes.NewReader(head), o)
	if err != nil {
		return nil, err
	}
	return rd.Columns(), nil
}

// headerScan finds where the header record ends: at a line end outside
// quotes (csv, or text with ENCLOSED BY) and, in text, not escaped.
type headerScan struct {
	quote, esc, delim int // -1: none
	text              bool
	inQuote           bool
	fieldStart        bool
	escaped           bool
}

func newHeaderScan(o format.Options) *headerScan {
	s := &headerScan{quote: -1, esc: -1, delim: -1, fieldStart: true}
	first := func(v, def string) int {
		if v = cmp.Or(v, def); v == "" {
			return -1
		}
		return int(v[0])
	}
	switch strings.ToLower(o.Format) {
	case "csv":
		s.quote, s.delim = first(o.FieldsEnclosedBy, `"`), first(o.FieldsTerminatedBy, ",")
		if o.FieldsEscapedBy != "" && int(o.FieldsEscapedBy[0]) != s.quote {
			s.esc = int(o.FieldsEscapedBy[0])
		}
	case "text":
		s.text, s.quote, s.delim = true, first(o.FieldsEnclosedBy, ""), first(o.FieldsTerminatedBy, "\t")
		if !o.NoEscape {
			s.esc = first(o.FieldsEscapedBy, `\`)
		}
	}
	return s
}

// complete scans one more line of the header, or part of a long one, and
// reports whether the record ends with it. A quote opens a field only at the field's start, as
// MySQL and lazy CSV read it; a doubled quote inside one is data.
func (s *headerScan) complete(line []byte) bool {
	continued := false // the line end itself was escaped (text)
	for i := 0; i < len(line); i++ {
		c := int(line[i])
		switch {
		case s.escaped:
			s.escaped = false
			s.fieldStart = false
			continued = c == '\n' && !s.inQuote
		case c == s.esc && (s.inQuote || s.text):
			s.escaped = true
		case s.inQuote && c == s.quote:
			if i+1 < len(line) && int(line[i+1]) == s.quote {
				i++
			} else {
				s.inQuote = false
			}
		case s.inQuote:
		case c == s.quote && s.fieldStart:
			s.inQuote = true
		default:
			s.fieldStart = c == s.delim
		}
	}
	if len(line) == 0 || line[len(line)-1] != '\n' {
		return false // part of a long line
	}
	// An escaped line end (text) or an open quote continues the record.
	s.fieldStart = true
	return !s.inQuote && !continued
}

// HeaderColumns maps a file's header names to the table's columns, in the
// header's order. A name matches a column exactly; else a name still in
// double quotes once decoded ("Name" in text, """Name""" in csv, where the
// outer quotes are csv's own) is a quoted identifier and matches only
// exactly; else,
// spaces trimmed, it matches exactly or case-insensitively when just one
// column does (pickColumns' rule for explicit lists). A name the table
// lacks, or two names for one column, fail the load at line 1, naming the
// field's position and listing the table's columns.
func HeaderColumns(table string, header, all []string) ([]string, error) {
	if len(header) == 0 {
		return nil, &format.Error{Line: 1, Err: errors.New("the header is empty: with a header the first line names the columns")}
	}
	out := make([]string, len(header))
	at := make(map[string]int, len(header))
	for i, h := range header {
		k, err := matchColumn(h, all)
		if err != nil {
			return nil, &format.Error{Line: 1, Err: fmt.Errorf("header field %d %q: %w (table %q has columns: %s)",
				i+1, h, err, table, strings.Join(all, ", "))}
		}
		c := all[k]
		if j, dup := at[c]; dup {
			return nil, &format.Error{Line: 1, Err: fmt.Errorf("header fields %d %q and %d %q both name column %q",
				j+1, header[j], i+1, h, c)}
		}
		at[c], out[i] = i, c
	}
	return out, nil
}

// matchColumn returns the index in all of the column name stands for
// (HeaderColumns' rule).
func matchColumn(name string, all []string) (int, error) {
	if i := slices.Index(all, name); i >= 0 {
		return i, nil
	}
	if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
		if i := slices.Index(all, strings.ReplaceAll(name[1:len(name)-1], `""`, `"`)); i >= 0 {
			return i, nil
		}
		return -1, fmt.Errorf("no column is named %s exactly (a quoted name matches case-sensitively)", name)
	}
	name = strings.TrimSpace(name)
	if i := slices.Index(all, name); i >= 0 {
		return i, nil
	}
	found := -1
	for i, c := range all {
		if !strings.EqualFold(c, name) {
			continue
		}
		if found >= 0 {
			return -1, fmt.Errorf("ambiguous: columns %q and %q differ only in case; write the name exactly", all[found], c)
		}
		found = i
	}
	if found < 0 {
		return -1, errNoColumn
	}
	return found, nil
}

var errNoColumn = errors.New("no such column")
