package load

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/s3bridge/s3bridge/format"
)

// Rows aligns decoded records to a table's target columns: positionally for
// delimited formats (a record with too many or too few fields is an error
// naming its line), by name for JSON and XML (a name that is no target
// column is an error; a target column the record lacks is NULL).
type Rows struct {
	rd      format.Reader
	file    string
	cols    []string
	byName  bool
	index   []int // by name: target column -> record field, -1 for none
	seen    int   // len(rd.Columns()) when index was built
	out     []format.Value
	skipBad bool
	onBad   func(file string, err error)
}

// NewRows decodes r with o and aligns its records to cols.
func NewRows(r io.Reader, file string, o format.Options, cols []string, skipBad bool, onBad func(string, error)) (*Rows, error) {
	rd, err := format.NewReader(r, o)
	if err != nil {
		return nil, err
	}
	f := strings.ToLower(o.Format)
	return &Rows{rd: rd, file: file, cols: cols, byName: f == "json" || f == "jsonl" || f == "ndjson" || f == "xml",
		out: make([]format.Value, len(cols)), skipBad: skipBad, onBad: onBad}, nil
}

// Next returns the next row aligned to the columns, or io.EOF.
func (r *Rows) Next() ([]format.Value, error) {
	for {
		rec, err := r.rd.Next()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err == nil {
			if err = r.align(rec); err == nil {
				return r.out, nil
			}
		}
		var fe *format.Error
		if r.skipBad && errors.As(err, &fe) && !fe.Fatal {
			r.onBad(r.file, err)
			continue
		}
		return nil, err
	}
}

// Line is the line where the last row started.
func (r *Rows) Line() int { return r.rd.Line() }

func (r *Rows) align(rec []format.Value) error {
	if !r.byName {
		if len(rec) != len(r.cols) {
			return &format.Error{Line: r.rd.Line(), Err: fmt.Errorf("%d fields, but %d columns (%s) are loaded", len(rec), len(r.cols), strings.Join(r.cols, ", "))}
		}
		copy(r.out, rec)
		return nil
	}
	if names := r.rd.Columns(); len(names) != r.seen {
		if err := r.reindex(names); err != nil {
			return err
		}
	}
	for i, j := range r.index {
		if j < 0 || j >= len(rec) {
			r.out[i] = format.Value{Null: true}
		} else {
			r.out[i] = rec[j]
		}
	}
	return nil
}

func (r *Rows) reindex(names []string) error {
	pos := make(map[string]int, len(names))
	for i, n := range names {
		pos[strings.ToLower(n)] = i
	}
	want := make(map[string]bool, len(r.cols))
	r.index = r.index[:0]
	for _, c := range r.cols {
		j, ok := pos[strings.ToLower(c)]
		if !ok {
			j = -1
		}
		r.index = append(r.index, j)
		want[strings.ToLower(c)] = true
	}
	for _, n := range names {
		if !want[strings.ToLower(n)] {
			return &format.Error{Line: r.rd.Line(), Field: n, Err: fmt.Errorf("no column named %q is loaded (columns: %s)", n, strings.Join(r.cols, ", "))}
		}
	}
	r.seen = len(names)
	return nil
}

// CSV streams rows as RFC 4180 CSV for a COPY … (FORMAT csv) with NULL
// written as an unquoted empty field and every value quoted, so an empty
// string and NULL stay apart.
func CSV(rows *Rows, w io.Writer) error {
	return encode(rows, w, ',', func(bw *bufio.Writer, v format.Value) {
		if v.Null {
			return
		}
		bw.WriteByte('"')
		if strings.IndexByte(v.S, '"') >= 0 {
			bw.WriteString(strings.ReplaceAll(v.S, `"`, `""`))
		} else {
			bw.WriteString(v.S)
		}
		bw.WriteByte('"')
	})
}

// Text streams rows in MySQL's default LOAD DATA format: tab-separated,
// backslash escapes, \N for NULL.
func Text(rows *Rows, w io.Writer) error {
	return encode(rows, w, '\t', func(bw *bufio.Writer, v format.Value) {
		if v.Null {
			bw.WriteString(`\N`)
			return
		}
		textEscaper.WriteString(bw, v.S)
	})
}

// encode writes every row, fields separated by sep and rows by newlines.
func encode(rows *Rows, w io.Writer, sep byte, field func(*bufio.Writer, format.Value)) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	for {
		rec, err := rows.Next()
		if err == io.EOF {
			return bw.Flush()
		}
		if err != nil {
			return err
		}
		for i, v := range rec {
			if i > 0 {
				bw.WriteByte(sep)
			}
			field(bw, v)
		}
		if err := bw.WriteByte('\n'); err != nil {
			return err
		}
	}
}

var textEscaper = strings.NewReplacer("\\", `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "\x00", `\0`, "\x1a", `\Z`)

// Pipe runs encode(rows, w) into a pipe and returns its reader, so a
// decoded stream feeds a native bulk path with flat memory.
func Pipe(rows *Rows, encode func(*Rows, io.Writer) error) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(encode(rows, pw)) }()
	return pr
}

// Positioned adds the file to a parse error: "s3://b/k line 12 column 5
// (field "price"): …".
func Positioned(file string, err error) error {
	return fmt.Errorf("%s %w", file, err)
}
