package format

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// decodeCase is one table row: input, options and the records or errors
// expected, each written as decode writes them.
type decodeCase struct {
	name string
	in   string
	o    Options
	want []string
}

// chunks are the read sizes every table case runs with: whole input, and
// small reads that cut records, escapes, quotes and terminators anywhere.
var chunks = []int{0, 1, 2, 3, 7}

func runDecodeCases(t *testing.T, format string, cases []decodeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunk := range chunks {
				o := tc.o
				o.Format, o.chunk = format, chunk
				got := decode(t, tc.in, o)
				if !slices.Equal(got, tc.want) {
					t.Fatalf("chunk %d: input %q\ngot  %s\nwant %s", chunk, tc.in, strings.Join(got, "\n     "), strings.Join(tc.want, "\n     "))
				}
			}
		})
	}
}

// decode reads every record of in as "line: fields" (each field quoted, or
// NULL), an error as "error: message", going on after non-fatal errors as a
// loader skipping bad rows would. A header shows as "cols: names".
func decode(t *testing.T, in string, o Options) []string {
	t.Helper()
	r, err := NewReader(strings.NewReader(in), o)
	if err != nil {
		return []string{"new: " + err.Error()}
	}
	var out []string
	if cols := r.Columns(); cols != nil {
		out = append(out, "cols: "+strings.Join(cols, ","))
	}
	for range len(in) + 10 { // each record consumes input
		rec, err := r.Next()
		if err == io.EOF {
			if o.Format == "json" || o.Format == "jsonl" || o.Format == "xml" {
				out = append(out, "cols: "+strings.Join(r.Columns(), ","))
			}
			return out
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not a *Error", err, err)
			}
			out = append(out, "error: "+err.Error())
			if e.Fatal {
				return out
			}
			continue
		}
		out = append(out, fmt.Sprintf("%d: %s", r.Line(), show(rec)))
	}
	t.Fatalf("more records than bytes in %q", in)
	return nil
}

func show(rec []Value) string {
	parts := make([]string, len(rec))
	for i, v := range rec {
		if v.Null {
			parts[i] = "NULL"
		} else {
			parts[i] = strconv.Quote(v.S)
		}
	}
	return strings.Join(parts, " ")
}

func TestNewReaderOptions(t *testing.T) {
	tests := []struct {
		o    Options
		want string
	}{
		{Options{Format: "parquet"}, `format "parquet": unknown (supported: text, csv, tsv, jsonl, json, xml)`},
		{Options{Format: "csv", FieldsEnclosedBy: "''"}, `fields enclosed by "''": must be a single byte`},
		{Options{Format: "text", FieldsTerminatedBy: "\n"}, `fields terminated by and lines terminated by are both "\n"`},
		{Options{Format: "csv", LinesStartingBy: "x"}, "csv: lines starting by is not supported (use format text, MySQL's semantics)"},
		{Options{Format: "tsv", FieldsEnclosedBy: `"`}, "tsv: no quoting and no lines starting by (use text or csv)"},
		{Options{Format: "csv", Charset: "ebcdic"}, `charset "ebcdic": unsupported (supported: utf8, utf8mb4, utf-8, ascii, us-ascii, binary, latin1, iso-8859-1, iso8859-1, windows-1252, cp1252)`},
		{Options{Format: "xml", RowsIdentifiedBy: "<a b>"}, `rows identified by "<a b>": not an element name`},
		{Options{Format: "csv", IgnoreLines: -1}, "ignore lines: -1 is negative"},
	}
	for _, tc := range tests {
		_, err := NewReader(strings.NewReader(""), tc.o)
		if err == nil || err.Error() != tc.want {
			t.Errorf("NewReader(%+v) = %v, want %s", tc.o, err, tc.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		e    *Error
		want string
	}{
		{&Error{Line: 12, Column: 5, Field: "price", Err: ErrUnterminatedQuote}, `line 12 column 5 (field "price"): unterminated quoted field`},
		{&Error{Line: 3, Field: "2", Err: ErrInvalidUTF8}, `line 3 (field "2"): invalid UTF-8`},
		{&Error{Line: 7, Err: io.ErrUnexpectedEOF}, `line 7: unexpected EOF`},
	}
	for _, tc := range tests {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
	if !errors.Is(&Error{Err: io.ErrUnexpectedEOF}, io.ErrUnexpectedEOF) {
		t.Error("Error does not unwrap")
	}
}

// errReader returns data, then err.
type errReader struct {
	data string
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestReadErrorIsFatal checks that an error of the source (a truncated gzip,
// a size limit) is a fatal *Error that unwraps to the cause and repeats.
func TestReadErrorIsFatal(t *testing.T) {
	for _, f := range formats {
		r, err := NewReader(&errReader{data: "", err: io.ErrUnexpectedEOF}, Options{Format: f})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s: NewReader: %v", f, err)
			}
			continue
		}
		_, err1 := r.Next()
		_, err2 := r.Next()
		var e *Error
		if !errors.As(err1, &e) || !e.Fatal || !errors.Is(err1, io.ErrUnexpectedEOF) || err2 == nil || err1.Error() != err2.Error() {
			t.Errorf("%s: got %v then %v, want a fatal *Error wrapping io.ErrUnexpectedEOF twice", f, err1, err2)
		}
	}
}
