package parquet

import (
	"bytes"
	"fmt"
	"io"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	pq "github.com/parquet-go/parquet-go"
	pformat "github.com/parquet-go/parquet-go/format"

	"github.com/s3bridge/s3bridge/format/compress"
	"github.com/s3bridge/s3bridge/tuple"
)

// TestTwosComplement checks the fixed-length decimal bytes against the
// Parquet spec's big-endian two's complement.
func TestTwosComplement(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		size int
		want []byte
	}{
		{1, 2, []byte{0, 1}}, {-1, 2, []byte{0xff, 0xff}}, {-256, 2, []byte{0xff, 0}}, {32767, 2, []byte{0x7f, 0xff}}, {-32768, 2, []byte{0x80, 0}},
	} {
		buf := make([]byte, tt.size)
		if err := twosComplement(buf, big.NewInt(tt.n)); err != nil || !reflect.DeepEqual(buf, tt.want) {
			t.Errorf("twosComplement(%d) = %x, %v; want %x", tt.n, buf, err, tt.want)
		}
	}
	if err := twosComplement(make([]byte, 2), big.NewInt(32768)); err == nil {
		t.Error("32768 fit in 2 bytes")
	}
	for p, want := range map[int]int{1: 1, 2: 1, 3: 2, 9: 4, 18: 8, 19: 9, 38: 16} {
		if got := decimalBytes(p); got != want {
			t.Errorf("decimalBytes(%d) = %d, want %d", p, got, want)
		}
	}
}

// TestWriterFiles writes two files with one Writer, as an export writes
// its parts, and reads them back with parquet-go: column names made
// unique, in order, the type of an untyped column taken from its first
// value, NULLs and MySQL's zero date as NULL, an empty file valid.
func TestWriterFiles(t *testing.T) {
	cols := []tuple.Column{{Name: "id", Type: tuple.TypeInt32}, {Name: "id", Type: tuple.TypeText},
		{Name: "n", Type: tuple.TypeDecimal, Precision: 10, Scale: 2}, {Name: "d", Type: tuple.TypeDate}, {Name: "e"}}
	w := NewWriter(cols, compress.Zstd)
	day := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	parts := [][][]tuple.Value{
		{
			{tuple.IntValue(1), tuple.StringValue("a"), tuple.StringValue("1.5"), tuple.TimeValue(day), tuple.IntValue(7)},
			{tuple.NullValue(), tuple.NullValue(), tuple.NullValue(), tuple.TimeValue(time.Time{}), tuple.NullValue()},
		},
		nil,
	}
	want := [][]string{{"1", "a", "150", "19782", "7"}, {"NULL", "NULL", "NULL", "NULL", "NULL"}}
	for i, rows := range parts {
		var out bytes.Buffer
		if err := w.Begin(&out); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.End(); err != nil {
			t.Fatal(err)
		}
		names, got := read(t, out.Bytes())
		if want := []string{"id", "id_2", "n", "d", "e"}; !reflect.DeepEqual(names, want) {
			t.Errorf("file %d: columns %q, want %q", i, names, want)
		}
		if i == 0 && !reflect.DeepEqual(got, want) {
			t.Errorf("file %d: rows %q, want %q", i, got, want)
		}
		if i == 1 && len(got) != 0 {
			t.Errorf("file %d: rows %q, want none", i, got)
		}
	}
}

// read returns a file's column names and its values as parquet-go prints
// them (decimals unscaled, dates in days).
func read(t *testing.T, body []byte) (names []string, rows [][]string) {
	t.Helper()
	f, err := pq.OpenFile(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range f.Schema().Fields() {
		names = append(names, c.Name())
	}
	r := pq.NewReader(f)
	defer r.Close()
	buf := make([]pq.Row, 8)
	for {
		n, err := r.ReadRows(buf)
		for _, pr := range buf[:n] {
			row := make([]string, len(names))
			for _, v := range pr {
				row[v.Column()] = "NULL"
				if !v.IsNull() {
					row[v.Column()] = v.String()
				}
			}
			rows = append(rows, row)
		}
		if err == io.EOF {
			return names, rows
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestWriterTypes writes lists, times of day, UUIDs and JSON and checks
// the schema's logical types and each value's Dremel levels, as the
// Parquet spec's LIST layout gives them: an optional list whose repeated
// group holds optional elements.
func TestWriterTypes(t *testing.T) {
	ints := tuple.ListOf("l", tuple.Column{Type: tuple.TypeInt32}, 1)
	nested := tuple.ListOf("m", tuple.Column{Type: tuple.TypeText}, 2)
	cols := []tuple.Column{ints, nested, {Name: "t", Type: tuple.TypeTime}, {Name: "u", Type: tuple.TypeUUID}, {Name: "j", Type: tuple.TypeJSON},
		tuple.ListOf("d", tuple.Column{Type: tuple.TypeDecimal, Precision: 20, Scale: 2}, 1)}
	list := func(v ...tuple.Value) tuple.Value { return tuple.ListValue(v) }
	s := tuple.StringValue
	uuid := []byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}
	rows := [][]tuple.Value{
		{list(tuple.IntValue(1), tuple.NullValue(), tuple.IntValue(3)), list(list(s("a"), s("b")), list(), tuple.NullValue(), list(tuple.NullValue())),
			tuple.IntValue(45296789000), tuple.BytesValue(uuid), s(`{"a": 1}`), list(s("1.5"), s("-12345678901234567.89"))},
		{list(), list(), s("24:00:00"), s("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"), s("null"), tuple.NullValue()},
		{tuple.NullValue(), tuple.NullValue(), tuple.NullValue(), tuple.NullValue(), tuple.NullValue(), list(tuple.NullValue())},
	}
	w := NewWriter(cols, compress.None)
	var out bytes.Buffer
	must(t, w.Begin(&out))
	for _, r := range rows {
		must(t, w.Write(r))
	}
	must(t, w.End())

	f, err := pq.OpenFile(bytes.NewReader(out.Bytes()), int64(out.Len()))
	must(t, err)
	var types []string
	for _, c := range f.Schema().Fields() {
		types = append(types, logical(c))
	}
	wantTypes := []string{"LIST<INT(32,true)>", "LIST<LIST<STRING>>", "TIME(isAdjustedToUTC=false,unit=MICROS)", "UUID", "JSON", "LIST<DECIMAL(20,2)>"}
	if !reflect.DeepEqual(types, wantTypes) {
		t.Errorf("logical types\n%q\nwant\n%q", types, wantTypes)
	}
	// Each value as column:repetition/definition=value.
	want := [][]string{
		{"0:0/3=1", "0:1/2", "0:1/3=3", "1:0/5=a", "1:2/5=b", "1:1/3", "1:1/2", "1:1/4", "2:0/1=45296789000", "3:0/1=a0eebc999c0b4ef8bb6d6bb9bd380a11",
			`4:0/1={"a": 1}`, "5:0/3=000000000000000096", "5:1/3=ffeeddef0b82167eeb"},
		{"0:0/1", "1:0/1", "2:0/1=86400000000", "3:0/1=a0eebc999c0b4ef8bb6d6bb9bd380a11", "4:0/1=null", "5:0/0"},
		{"0:0/0", "1:0/0", "2:0/0", "3:0/0", "4:0/0", "5:0/2"},
	}
	r := pq.NewReader(f)
	defer r.Close()
	buf := make([]pq.Row, len(rows)+1)
	n, err := r.ReadRows(buf)
	if err != nil && err != io.EOF {
		t.Fatal(err)
	}
	for i, row := range buf[:n] {
		var got []string
		for _, v := range row {
			s := fmt.Sprintf("%d:%d/%d", v.Column(), v.RepetitionLevel(), v.DefinitionLevel())
			switch {
			case v.IsNull():
			case v.Kind() == pq.FixedLenByteArray:
				s += fmt.Sprintf("=%x", v.ByteArray())
			default:
				s += "=" + v.String()
			}
			got = append(got, s)
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("row %d:\n got %q\nwant %q", i, got, want[i])
		}
	}
	if n != len(rows) {
		t.Errorf("read %d rows, want %d", n, len(rows))
	}
}

// TestWriterRefuses: a value a column's type can't hold fails the row,
// naming the column.
func TestWriterRefuses(t *testing.T) {
	for _, tt := range []struct {
		col  tuple.Column
		v    tuple.Value
		want string
	}{
		{tuple.Column{Name: "t", Type: tuple.TypeTime}, tuple.StringValue("-01:00:00"), "column t (time)"},
		{tuple.Column{Name: "t", Type: tuple.TypeTime}, tuple.StringValue("838:59:59"), "not a time of day"},
		{tuple.Column{Name: "u", Type: tuple.TypeUUID}, tuple.StringValue("not-a-uuid"), "not a UUID"},
		{tuple.Column{Name: "j", Type: tuple.TypeJSON}, tuple.StringValue("{"), "not valid JSON"},
		{tuple.ListOf("l", tuple.Column{Type: tuple.TypeInt32}, 1), tuple.StringValue("{1,2}"), "is not a list"},
		{tuple.ListOf("l", tuple.Column{Type: tuple.TypeInt32}, 1), tuple.ListValue([]tuple.Value{tuple.StringValue("x")}), "element 1"},
	} {
		w := NewWriter([]tuple.Column{tt.col}, compress.None)
		must(t, w.Begin(io.Discard))
		if err := w.Write([]tuple.Value{tt.v}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %q: %v, want an error saying %q", tt.col.Type, tt.v.Bytes, err, tt.want)
		}
	}
}

// logical names a column's type: its logical type, LIST<element> for a
// list.
func logical(f pq.Field) string {
	if lt := f.Type().LogicalType(); lt != nil {
		if _, ok := lt.Value.(*pformat.ListType); ok {
			return "LIST<" + logical(f.Fields()[0].Fields()[0]) + ">"
		}
		return lt.String()
	}
	return f.Type().String()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
