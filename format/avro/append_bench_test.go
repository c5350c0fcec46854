package avro

import (
	"bytes"
	"io"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/pipeline"
)

// BenchmarkAppend appends bench/pipeline.sh's narrow rows (8 columns of
// mixed types) to a Snappy file: the stream's per-row work in the writer.
func BenchmarkAppend(b *testing.B) {
	col := func(name string, k pipeline.Kind, tn string) pipeline.Column {
		return pipeline.Column{Name: name, Type: pipeline.Type{Kind: k, Name: tn}, Nullable: true}
	}
	amount := col("amount", pipeline.KindDecimal, "numeric(12,2)")
	amount.Type.Precision, amount.Type.Scale = 12, 2
	ts := &pipeline.TableSchema{Database: "db", Schema: "public", Table: "big", Version: 1, Columns: []pipeline.Column{
		col("id", pipeline.KindInt64, "int8"), col("name", pipeline.KindString, "text"), amount,
		col("qty", pipeline.KindInt32, "int4"), col("ts", pipeline.KindTimestamp, "timestamp"),
		col("flag", pipeline.KindBool, "bool"), col("score", pipeline.KindFloat64, "float8"),
		col("note", pipeline.KindString, "text"),
	}}
	w, err := NewWriter(io.Discard, ts, Options{Codec: pipeline.CodecSnappy})
	if err != nil {
		b.Fatal(err)
	}
	c := &pipeline.Change{Op: pipeline.OpCreate, Schema: ts,
		After: pipeline.Row{int64(123456), "name 123456", big.NewRat(23456, 100), int32(456),
			time.Date(2026, 1, 2, 10, 17, 36, 0, time.UTC), true, 61728.0, "e10adc3949ba59abbe56e057f20f883e"},
		Source: pipeline.Source{LSN: 0x16B374D848, TxID: 1234, CommitTime: time.Now().UTC(),
			Database: "db", Schema: "public", Table: "big"}}
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Append(c); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// TestAppendSmallDecimal checks the int64 path of decimals against
// unscaled, byte for byte, around every power of two and ten a value's
// size changes at, and that it leaves to unscaled what it can't take.
func TestAppendSmallDecimal(t *testing.T) {
	var nums []int64
	for i := range 63 {
		p := int64(1) << i
		nums = append(nums, p-1, p, p+1, -p-1, -p, -p+1)
	}
	for _, p := range pow10 {
		nums = append(nums, p-1, p, -p, -p+1)
	}
	nums = append(nums, 0, math.MaxInt64, math.MinInt64, math.MinInt64+1)
	for _, n := range nums {
		for _, den := range []int64{1, 2, 4, 5, 10, 100, 3} {
			for _, scale := range []int{0, 2, 6, 18} {
				x := big.NewRat(n, den)
				got, ok := appendSmallDecimal(nil, x, scale)
				u, err := unscaled(x, scale)
				if err != nil {
					if ok {
						t.Errorf("%s at scale %d: %x, unscaled: %v", x, scale, got, err)
					}
					continue
				}
				want := appendBytes(nil, u)
				if ok && !bytes.Equal(got, want) {
					t.Errorf("%s at scale %d: %x, want %x", x, scale, got, want)
				}
			}
		}
	}
	// The common case takes the int64 path.
	if _, ok := appendSmallDecimal(nil, big.NewRat(23456, 100), 2); !ok {
		t.Error("234.56 at scale 2 left to unscaled")
	}
}
