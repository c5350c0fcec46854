package connector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/s3bridge/s3bridge/format"
)

// Preview is the first rows of a config's objects, parsed and typed.
type Preview struct {
	Columns []Column
	// Rows hold nil, bool, number (long, double), time.Time, json
	// (json.RawMessage) or string values.
	Rows [][]any
}

// PreviewRows parses the first n rows (15 when n <= 0) of the config's
// objects in key order, reading a bounded head of each. A row that does
// not parse is an error naming the object, line and column. Digest keys
// are resolved in this process's files only (literals and ${file:…}), and
// upload_time is now: PreviewRowsFor takes the environment.
func PreviewRows(ctx context.Context, store ObjectStore, c Config, n int) (Preview, error) {
	return PreviewRowsFor(ctx, store, c, n, FilterRun{Start: time.Now()})
}

// PreviewRowsFor is PreviewRows with the filters' run: the Env that
// resolves digest keys, and the start upload_time shows.
func PreviewRowsFor(ctx context.Context, store ObjectStore, c Config, n int, run FilterRun) (Preview, error) {
	if n <= 0 {
		n = previewRows
	}
	pv := Preview{Columns: c.In.Parser.Columns}
	if err := c.Validate(); err != nil {
		return pv, err
	}
	l, err := c.filteredFor(run)
	if err != nil {
		return pv, err
	}
	pv.Columns = l.columns()
	objs, err := c.candidates(ctx, store, nil)
	if err != nil {
		return pv, err
	}
	if len(objs) == 0 {
		return pv, fmt.Errorf("preview: no object at %s (zero-byte objects are skipped)", c.where())
	}
	for _, o := range objs {
		if len(pv.Rows) >= n {
			break
		}
		s, err := readSample(ctx, store, c.In.Bucket, o, previewBytes)
		if err != nil {
			return pv, err
		}
		rs, err := newRows(bytes.NewReader(wholeLines(s)), c.In.Parser)
		if err != nil {
			return pv, err
		}
		rc := rowContext{key: o.Key}
		for len(pv.Rows) < n {
			row, err := rs.next()
			if errors.Is(err, io.EOF) {
				break
			}
			var fe *format.Error
			if err != nil && !s.complete && errors.As(err, &fe) && fe.Fatal {
				break // where the sample was cut (JSON)
			}
			if err != nil {
				return pv, fmt.Errorf("preview s3://%s/%s: %w", c.In.Bucket, o.Key, err)
			}
			out := make([]any, len(l))
			rc.line = rs.rd.Line()
			if err := l.row(out, row, &rc); err != nil {
				return pv, fmt.Errorf("preview s3://%s/%s: %w", c.In.Bucket, o.Key, err)
			}
			pv.Rows = append(pv.Rows, out)
		}
	}
	return pv, nil
}

// Display is a value as preview's table shows it.
func Display(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return v.Format("2006-01-02 15:04:05.999999 UTC")
	}
	return text(v, dialectPostgres).S
}

// TypeLine is a column's type as preview shows it: the type, and a
// timestamp's format.
func TypeLine(c Column) string {
	if c.Type == TypeTimestamp && c.Format != "" {
		return c.Type + " (" + c.Format + ")"
	}
	return c.Type
}

// WriteTable writes the preview as a table: names, a type line, rows.
func (pv Preview) WriteTable(w io.Writer) error {
	head := make([]string, len(pv.Columns))
	types := make([]string, len(pv.Columns))
	for i, c := range pv.Columns {
		head[i], types[i] = c.Name, TypeLine(c)
	}
	lines := [][]string{head, types}
	for _, r := range pv.Rows {
		cells := make([]string, len(r))
		for i, v := range r {
			cells[i] = strings.ReplaceAll(Display(v), "\n", `\n`)
		}
		lines = append(lines, cells)
	}
	width := make([]int, len(head))
	for _, l := range lines {
		for i, c := range l {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	sep := "+"
	for _, wd := range width {
		sep += strings.Repeat("-", wd+2) + "+"
	}
	var b strings.Builder
	row := func(cells []string) {
		b.WriteString("|")
		for i, c := range cells {
			b.WriteString(" " + c + strings.Repeat(" ", width[i]-len([]rune(c))) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString(sep + "\n")
	row(head)
	row(types)
	b.WriteString(sep + "\n")
	for _, l := range lines[2:] {
		row(l)
	}
	b.WriteString(sep + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}
