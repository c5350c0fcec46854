package avro

import (
	"bytes"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
	"time"

	hamba "github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"

	"github.com/s3bridge/s3bridge/pipeline"
)

func TestUnscaled(t *testing.T) {
	tests := []struct {
		in    string
		scale int
		want  string // hex
	}{
		{"0", 2, "00"},
		{"1.27", 2, "7f"},
		{"1.28", 2, "0080"},
		{"-0.01", 2, "ff"},
		{"-1.28", 2, "80"},
		{"-1.29", 2, "ff7f"},
		{"-12.34", 2, "fb2e"},
		{"12345678.90", 2, "499602d2"},
		{"5", 0, "05"},
		{"-256", 0, "ff00"},
	}
	for _, tt := range tests {
		got, err := unscaled(rat(tt.in), tt.scale)
		if err != nil || hex.EncodeToString(got) != tt.want {
			t.Errorf("unscaled(%s, %d) = %x, %v; want %s", tt.in, tt.scale, got, err, tt.want)
		}
	}
	if _, err := unscaled(rat("1.234"), 2); err == nil {
		t.Error("unscaled(1.234, 2) rounded silently")
	}
}

// TestHambaReadsInfinity covers what python3-avro cannot represent (its
// datetime stops at year 9999): ±infinity dates and timestamps, read back
// with hamba's reader, for the zstd codec as well.
func TestHambaReadsInfinity(t *testing.T) {
	ts := &pipeline.TableSchema{Database: "d", Schema: "s", Table: "t", Version: 1, Columns: []pipeline.Column{
		{Name: "day", Type: pipeline.Type{Kind: pipeline.KindDate, Name: "date"}, Nullable: true},
		{Name: "ts", Type: pipeline.Type{Kind: pipeline.KindTimestamp, Name: "timestamp"}, Nullable: true},
		{Name: "tstz", Type: pipeline.Type{Kind: pipeline.KindTimestampTZ, Name: "timestamptz"}, Nullable: true},
	}}
	changes := []pipeline.Change{
		{Op: pipeline.OpCreate, Schema: ts, After: pipeline.Row{pipeline.TimeInfinity, pipeline.TimeInfinity, pipeline.TimeInfinity}},
		{Op: pipeline.OpCreate, Schema: ts, After: pipeline.Row{pipeline.TimeNegInfinity, pipeline.TimeNegInfinity, pipeline.TimeNegInfinity}},
	}
	for _, codec := range []pipeline.Codec{pipeline.CodecZStd, pipeline.CodecSnappy} {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, ts, Options{Codec: codec})
		if err != nil {
			t.Fatal(err)
		}
		for i := range changes {
			if err := w.Append(&changes[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		dec, err := ocf.NewDecoder(&buf, ocf.WithDecoderSchemaCache(&hamba.SchemaCache{}))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ocfCodec(codec)
		if got := string(dec.Metadata()["avro.codec"]); got != string(want) {
			t.Errorf("codec %q, want %q", got, want)
		}
		type value struct {
			Day  *time.Time `avro:"day"`
			TS   *time.Time `avro:"ts"`
			TSTZ *time.Time `avro:"tstz"`
		}
		var got []value
		for dec.HasNext() {
			var rec struct {
				After *value `avro:"after"`
			}
			if err := dec.Decode(&rec); err != nil {
				t.Fatal(err)
			}
			got = append(got, *rec.After)
		}
		if dec.Error() != nil {
			t.Fatal(dec.Error())
		}
		if len(got) != 2 {
			t.Fatalf("%s: %d records", codec, len(got))
		}
		// hamba gives local-timestamp values in time.Local: compare the wall clock.
		wall := func(x time.Time) int64 {
			return time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC).UnixMicro()
		}
		for i, want := range []struct{ micros, days int64 }{{1<<63 - 1, 106751991}, {-1 << 63, -106751992}} {
			g := got[i]
			if wall(*g.TS) != want.micros || g.TSTZ.UnixMicro() != want.micros || g.Day.Unix()/86400 != want.days {
				t.Errorf("%s record %d: ts %v tstz %v day %v", codec, i, *g.TS, *g.TSTZ, *g.Day)
			}
		}
	}
}

// countWrites records every write, to see the file leave the writer in
// pieces rather than at Close.
type countWrites struct {
	writes, max, total int
}

func (c *countWrites) Write(p []byte) (int, error) {
	c.writes++
	c.total += len(p)
	c.max = max(c.max, len(p))
	return len(p), nil
}

// TestStreams writes ~100 MB of records and checks that the writer hands
// them on block by block: the largest single write stays near the block
// size, and data leaves before Close.
func TestStreams(t *testing.T) {
	ts := &pipeline.TableSchema{Database: "d", Schema: "s", Table: "t", Version: 1, Columns: []pipeline.Column{
		{Name: "id", Type: pipeline.Type{Kind: pipeline.KindInt64, Name: "int8"}},
		{Name: "body", Type: pipeline.Type{Kind: pipeline.KindString, Name: "text"}, Nullable: true},
	}}
	body := strings.Repeat("x", 1000)
	out := &countWrites{}
	w, err := NewWriter(out, ts, Options{Codec: pipeline.CodecNull, BlockSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100_000
	c := pipeline.Change{Op: pipeline.OpCreate, Schema: ts, After: pipeline.Row{int64(0), body}}
	for i := range n {
		c.After[0] = int64(i)
		if err := w.Append(&c); err != nil {
			t.Fatal(err)
		}
	}
	before := w.Written()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Written() < 100_000_000 || w.Written()-before > 512<<10 {
		t.Errorf("%d of %d bytes left the writer before Close", before, w.Written())
	}
	if out.max > 512<<10 {
		t.Errorf("largest write %d bytes: the writer holds more than a block", out.max)
	}
	if w.Rows() != n || int64(out.total) != w.Written() {
		t.Errorf("rows %d written %d total %d", w.Rows(), w.Written(), out.total)
	}
}

func TestAppendErrors(t *testing.T) {
	ts := allTypes()
	other := *ts
	other.Version = 4
	row := func(i int, v any) pipeline.Row {
		r := make(pipeline.Row, len(ts.Columns))
		r[i] = v
		return r
	}
	tests := []struct {
		name string
		c    pipeline.Change
		want string
	}{
		{"other version", pipeline.Change{Op: pipeline.OpCreate, Schema: &other, After: row(0, int64(1))}, "another table or version"},
		{"bad op", pipeline.Change{Op: 'x', Schema: ts}, "invalid op"},
		{"short row", pipeline.Change{Op: pipeline.OpCreate, Schema: ts, After: pipeline.Row{int64(1)}}, "row has 1 values"},
		{"wrong go type", pipeline.Change{Op: pipeline.OpCreate, Schema: ts, After: row(1, 5)}, "column small: int is not a int32"},
		{"inexact decimal", pipeline.Change{Op: pipeline.OpCreate, Schema: ts, After: row(3, big.NewRat(1, 3))}, "column price: decimal"},
		{"bad utf8", pipeline.Change{Op: pipeline.OpCreate, Schema: ts, After: row(9, "\xff")}, "not valid UTF-8"},
		{"array element", pipeline.Change{Op: pipeline.OpCreate, Schema: ts, Before: row(19, []any{int32(1), "2"})}, "before: column ints: element 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, ts, Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = w.Append(&tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Append error %v, want %q", err, tt.want)
			}
			if w.Rows() != 0 {
				t.Errorf("rows %d after a failed append", w.Rows())
			}
		})
	}
}

func TestOCFCodec(t *testing.T) {
	for in, want := range map[pipeline.Codec]ocf.CodecName{"": ocf.Snappy, "snappy": ocf.Snappy, "ZSTD": ocf.ZStandard, "zstandard": ocf.ZStandard, "deflate": ocf.Deflate, "null": ocf.Null} {
		if got, err := ocfCodec(in); err != nil || got != want {
			t.Errorf("ocfCodec(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ocfCodec("bzip2"); err == nil {
		t.Error("bzip2 accepted")
	}
}

func TestSchemaRejectsBadTypes(t *testing.T) {
	for _, typ := range []pipeline.Type{
		{Kind: pipeline.KindDecimal, Precision: 0, Scale: 0},
		{Kind: pipeline.KindDecimal, Precision: 5, Scale: -1},
		{Kind: pipeline.KindArray},
		{Kind: pipeline.KindArray, Elem: &pipeline.Type{Kind: pipeline.KindArray}},
	} {
		ts := &pipeline.TableSchema{Columns: []pipeline.Column{{Name: "c", Type: typ}}}
		if _, err := SchemaJSON(ts); err == nil {
			t.Errorf("SchemaJSON accepted %v", typ)
		}
	}
}
