package parquet

import (
	"bytes"
	"io"
	"math/big"
	"reflect"
	"testing"
	"time"

	pq "github.com/parquet-go/parquet-go"

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
