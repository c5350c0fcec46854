package bulk_test

import (
	"errors"
	"fmt"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/format"
)

func TestReadHeader(t *testing.T) {
	var long []string
	for i := range 20000 {
		long = append(long, fmt.Sprintf("column%d", i))
	}
	tests := []struct {
		name string
		in   string
		o    format.Options
		want []string
	}{
		{"csv", "b,a\n1,2\n", format.Options{Format: "csv"}, []string{"b", "a"}},
		{"csv crlf", "b,a\r\n1,2\r\n", format.Options{Format: "csv"}, []string{"b", "a"}},
		{"csv line break in a quoted name", "\"b\nx\",\"a,\"\"y\"\n1,2\n", format.Options{Format: "csv"}, []string{"b\nx", `a,"y`}},
		{"csv escape before the quote", "'b\\'\nx',a\n1,2\n", format.Options{Format: "csv", FieldsEnclosedBy: "'", FieldsEscapedBy: `\`}, []string{"b'\nx", "a"}},
		{"csv byte order mark", "\xef\xbb\xbfb,a\n1,2\n", format.Options{Format: "csv"}, []string{"b", "a"}},
		{"csv no newline", "b,a", format.Options{Format: "csv"}, []string{"b", "a"}},
		{"csv latin1", "caf\xe9,a\n1,2\n", format.Options{Format: "csv", Charset: "latin1"}, []string{"café", "a"}},
		{"text escaped line end", "b\\\nx\ta\n1\t2\n", format.Options{Format: "text"}, []string{"b\nx", "a"}},
		{"tsv", "b\ta\n1\t2\n", format.Options{Format: "tsv"}, []string{"b", "a"}},
		{"empty", "", format.Options{Format: "csv"}, nil},
		// Longer than ReadHeader's buffer, with a quoted line break
		// past it.
		{"csv long", strings.Join(long, ",") + ",\"x\ny\"\n1\n", format.Options{Format: "csv"}, append(slices.Clone(long), "x\ny")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Header = true
			names, whole, err := bulk.ReadHeader(strings.NewReader(tt.in), tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("names %q, want %q", names, tt.want)
			}
			got, err := io.ReadAll(whole)
			if err != nil || string(got) != tt.in {
				t.Errorf("the input handed on is %q (%v), want it whole: %q", got, err, tt.in)
			}
		})
	}
}

// countingReader counts what was read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestReadHeaderStreams: reading the header of a large file reads a
// buffer's worth of it, not the file, and the rest is handed on intact.
func TestReadHeaderStreams(t *testing.T) {
	const size = 64 << 20
	row := []byte("12345,some text,67.89\n")
	src := &countingReader{r: io.LimitReader(&repeat{b: row}, size)}
	names, whole, err := bulk.ReadHeader(io.MultiReader(strings.NewReader("id,name,amount\n"), src), format.Options{Format: "csv", Header: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"id", "name", "amount"}) {
		t.Errorf("names %q", names)
	}
	if src.n > 128<<10 {
		t.Errorf("reading the header read %d bytes of the file", src.n)
	}
	n, err := io.Copy(io.Discard, whole)
	if err != nil || n != size+int64(len("id,name,amount\n")) {
		t.Errorf("handed on %d bytes (%v), want %d", n, err, size+len("id,name,amount\n"))
	}
}

type repeat struct {
	b   []byte
	off int
}

func (r *repeat) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.b[r.off:])
		n += c
		r.off = (r.off + c) % len(r.b)
	}
	return n, nil
}

func TestReadHeaderTooLarge(t *testing.T) {
	_, _, err := bulk.ReadHeader(strings.NewReader(strings.Repeat("x", 1000)+"\n"), format.Options{Format: "csv", Header: true, MaxRecordBytes: 100})
	if !errors.Is(err, format.ErrRecordTooLarge) {
		t.Errorf("got %v, want ErrRecordTooLarge", err)
	}
}

func TestHeaderColumns(t *testing.T) {
	all := []string{"id", "Name", "name2", "Mixed", "MIXED"}
	tests := []struct {
		header []string
		want   []string
		err    []string // substrings of the error
	}{
		{[]string{"name2", "id"}, []string{"name2", "id"}, nil},
		{[]string{"ID", " name "}, []string{"id", "Name"}, nil},
		{[]string{`"Name"`}, []string{"Name"}, nil},
		{[]string{"Mixed", "MIXED"}, []string{"Mixed", "MIXED"}, nil},
		{[]string{`"name"`}, nil, []string{"line 1", `header field 1 "\"name\""`, "exactly"}},
		{[]string{"id", "mixed"}, nil, []string{`header field 2 "mixed"`, "ambiguous", `"Mixed" and "MIXED"`}},
		{[]string{"id", "zzz"}, nil, []string{"line 1", `header field 2 "zzz"`, "no such column", `table "t" has columns: id, Name, name2, Mixed, MIXED`}},
		{[]string{"id", "ID"}, nil, []string{`header fields 1 "id" and 2 "ID" both name column "id"`}},
		{nil, nil, []string{"line 1", "header is empty"}},
	}
	for _, tt := range tests {
		got, err := bulk.HeaderColumns("t", tt.header, all)
		if tt.err == nil {
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("%q: got %q, %v; want %q", tt.header, got, err, tt.want)
			}
			continue
		}
		var fe *format.Error
		if !errors.As(err, &fe) || fe.Line != 1 {
			t.Errorf("%q: got %v, want a format.Error at line 1", tt.header, err)
			continue
		}
		for _, w := range tt.err {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", tt.header, err, w)
			}
		}
	}
}

// TestByHeader: only a delimited load with a header and neither a column
// list nor an Aurora statement maps by name.
func TestByHeader(t *testing.T) {
	csv := format.Options{Format: "csv", Header: true}
	tests := []struct {
		t    bulk.Target
		want bool
	}{
		{bulk.Target{Options: csv}, true},
		{bulk.Target{Options: format.Options{Format: "TEXT", Header: true}}, true},
		{bulk.Target{Options: format.Options{Format: "tsv", Header: true}}, true},
		{bulk.Target{Options: format.Options{Format: "csv"}}, false},
		{bulk.Target{Options: format.Options{Format: "csv", IgnoreLines: 1}}, false},
		{bulk.Target{Options: csv, Columns: []string{"a"}}, false},
		{bulk.Target{Options: csv, Statement: "LOAD DATA FROM S3 's3://b/k' INTO TABLE t IGNORE 1 LINES"}, false},
		{bulk.Target{Options: format.Options{Format: "jsonl", Header: true}}, false},
	}
	for i, tt := range tests {
		if got := tt.t.ByHeader(); got != tt.want {
			t.Errorf("%d: ByHeader() = %v, want %v", i, got, tt.want)
		}
	}
}
