package cdcparquet

import (
	"bytes"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/cdctest"
	"github.com/s3bridge/s3bridge/pipeline"
)

var now = time.Date(2025, 6, 7, 8, 9, 10, 123000000, time.UTC)

// write writes changes into a Parquet file in a temporary directory and
// returns its path.
func write(t *testing.T, ts *pipeline.TableSchema, opts Options, changes []pipeline.Change) string {
	t.Helper()
	opts.Now = func() time.Time { return now }
	return cdctest.WriteFile(t, "f.parquet", changes, func(w io.Writer) (cdctest.Writer, error) { return NewWriter(w, ts, opts) })
}

func text(v any) string {
	if v == nil {
		return "NULL"
	}
	return fmt.Sprint(v)
}

// TestTypesDuckDB writes a change of every op over a column of every kind,
// with each codec, and reads the file with DuckDB, which shares no code
// with the writer: its types, every value, the envelope.
func TestTypesDuckDB(t *testing.T) {
	ts := cdctest.Schema()
	changes := cdctest.Changes(ts)
	for _, codec := range []pipeline.Codec{pipeline.CodecSnappy, pipeline.CodecZStd, pipeline.CodecDeflate, pipeline.CodecNull} {
		t.Run(string(codec), func(t *testing.T) {
			file := cdctest.Quote(write(t, ts, Options{Codec: codec}, changes))
			// Types and field names of after, as DuckDB sees them.
			cols, _ := cdctest.DuckDB(t, "SELECT after.* FROM read_parquet("+file+")")
			var wantCols []string
			for _, c := range cdctest.Columns() {
				wantCols = append(wantCols, cdctest.Field(c.Name)+":"+c.Duck)
			}
			if !slices.Equal(cols, wantCols) {
				t.Errorf("after's columns:\n got %v\nwant %v", cols, wantCols)
			}
			// Physical and logical types DuckDB can't show in a group.
			_, rows := cdctest.DuckDB(t, "SELECT name, type, coalesce(logical_type, converted_type) FROM parquet_schema("+file+
				") WHERE name IN ('d5', 'd18', 'd38', 'j', 'u') LIMIT 5")
			if got := fmt.Sprint(rows); got != "[[d5 INT32 DecimalType(scale=2, precision=5)] "+
				"[d18 INT64 DecimalType(scale=4, precision=18)] [d38 FIXED_LEN_BYTE_ARRAY DecimalType(scale=10, precision=38)] "+
				"[u FIXED_LEN_BYTE_ARRAY UUIDType()] [j BYTE_ARRAY JsonType()]]" {
				t.Errorf("Parquet types of before's columns:\n%s", got)
			}
			// Every value, from before (the update) and after (the insert).
			var list []string
			for _, c := range cdctest.Columns() {
				f := `"` + cdctest.Field(c.Name) + `"`
				list = append(list, "CAST(before."+f+" AS VARCHAR)", "CAST(after."+f+" AS VARCHAR)")
			}
			_, rows = cdctest.DuckDB(t, "SELECT "+strings.Join(list, ", ")+" FROM read_parquet("+file+") WHERE op = 'u' AND before IS NOT NULL")
			if len(rows) != 1 {
				t.Fatalf("%d updates with a before image, want 1", len(rows))
			}
			for i, c := range cdctest.Columns() {
				if got := [2]string{text(rows[0][2*i]), text(rows[0][2*i+1])}; got != [2]string{c.DuckText, c.DuckText} {
					t.Errorf("column %s: DuckDB reads %q, want %q", c.Name, got, c.DuckText)
				}
			}
			// The envelope of each change.
			_, rows = cdctest.DuckDB(t, `SELECT op, before IS NULL, after IS NULL, CAST(after.id AS VARCHAR), CAST(before.id AS VARCHAR),
				CAST(before.t AS VARCHAR), CAST(after.t AS VARCHAR), CAST(after.i8 AS VARCHAR),
				CAST(source.lsn AS VARCHAR), CAST(source.tx_id AS VARCHAR), CAST(source.commit_ts AS VARCHAR),
				source.database || '.' || source.schema || '.' || source."table", source.snapshot,
				source.gtid, source.file, CAST(source.pos AS VARCHAR), CAST(source.server_id AS VARCHAR),
				CAST(ts_ms AS VARCHAR), CAST(unchanged_toast_columns AS VARCHAR) FROM read_parquet(`+file+`)`)
			commit := "2025-01-02 03:04:05.678901+00"
			tsms := "2025-06-07 08:09:10.123+00"
			id, txt := "-2147483648", cdctest.Columns()[ts.Index("t")].DuckText
			max := "4294967295-4294967295-18446744073709551615"
			wantRows := [][]string{
				{"r", "true", "false", id, "NULL", "NULL", txt, "9007199254740993", "23805736", "NULL", "NULL", "shop.public.every", "true", "0-1-41,1-2-7", "mariadb-bin.000001", "4", "NULL", tsms, "[]"},
				{"c", "true", "false", id, "NULL", "NULL", txt, "9007199254740993", "4294967552", "501", commit, "shop.public.every", "false", "0-1-42", "mariadb-bin.000001", "256", "1", tsms, "[]"},
				{"u", "false", "false", id, id, txt, txt, "9007199254740993", "4294967808", "502", commit, "shop.public.every", "false", max, "mariadb-bin.1000000", "4294967295", "4294967295", tsms, "[]"},
				{"u", "true", "false", id, "NULL", "NULL", "NULL", "9007199254740993", "4294967808", "502", commit, "shop.public.every", "false", max, "mariadb-bin.1000000", "4294967295", "4294967295", tsms, "[t]"},
				{"d", "false", "true", "NULL", id, "NULL", "NULL", "NULL", "4294968064", "503", commit, "shop.public.every", "false", "NULL", "NULL", "NULL", "NULL", tsms, "[]"},
				{"t", "true", "true", "NULL", "NULL", "NULL", "NULL", "NULL", "4294968320", "504", commit, "shop.public.every", "false", "NULL", "NULL", "NULL", "NULL", tsms, "[]"},
				{"c", "true", "false", id, "NULL", "NULL", "NULL", "NULL", "4294968576", "505", commit, "shop.public.every", "false", "NULL", "NULL", "NULL", "NULL", tsms, "[]"},
			}
			if len(rows) != len(wantRows) {
				t.Fatalf("DuckDB reads %d rows, want %d", len(rows), len(wantRows))
			}
			for i, r := range rows {
				var got []string
				for _, v := range r {
					got = append(got, text(v))
				}
				if !slices.Equal(got, wantRows[i]) {
					t.Errorf("row %d:\n got %q\nwant %q", i, got, wantRows[i])
				}
			}
			// The NULLs of the last insert are NULL in every column.
			var nulls []string
			for _, c := range cdctest.Columns()[1:] {
				nulls = append(nulls, `after."`+cdctest.Field(c.Name)+`" IS NULL`)
			}
			_, rows = cdctest.DuckDB(t, "SELECT count(*) FROM read_parquet("+file+") WHERE op = 'c' AND source.tx_id = 505 AND "+strings.Join(nulls, " AND "))
			if text(rows[0][0]) != "1" {
				t.Errorf("the insert of NULLs: %v rows with every column NULL, want 1", rows[0][0])
			}
			// The codec: Parquet's names.
			_, rows = cdctest.DuckDB(t, "SELECT DISTINCT compression FROM parquet_metadata("+file+")")
			want := map[pipeline.Codec]string{pipeline.CodecSnappy: "SNAPPY", pipeline.CodecZStd: "ZSTD", pipeline.CodecDeflate: "GZIP", pipeline.CodecNull: "UNCOMPRESSED"}[codec]
			if got := fmt.Sprint(rows); got != "[["+want+"]]" {
				t.Errorf("compression %s, want %s", got, want)
			}
			// The file describes itself.
			_, rows = cdctest.DuckDB(t, "SELECT decode(key), length(decode(value)) > 100 FROM parquet_kv_metadata("+file+") ORDER BY 1")
			if got := fmt.Sprint(rows); got != "[[s3bridge.avsc true] [s3bridge.schema_version false] [s3bridge.table false]]" {
				t.Errorf("key-value metadata: %s", got)
			}
		})
	}
}

// TestRowGroups: a file written with a small row group size has many row
// groups, and DuckDB reads every row of them back in order.
func TestRowGroups(t *testing.T) {
	ts := cdctest.Schema()
	var changes []pipeline.Change
	for i := range 3000 {
		row := cdctest.Row()
		row[0] = int32(i)
		changes = append(changes, pipeline.Change{Op: pipeline.OpCreate, Schema: ts, After: row,
			Source: pipeline.Source{LSN: pipeline.LSN(i + 1), TxID: int64(i + 1), CommitTime: cdctest.Commit, Database: "shop", Schema: "public", Table: "every"}})
	}
	file := cdctest.Quote(write(t, ts, Options{RowGroupBytes: 256 << 10}, changes))
	_, rows := cdctest.DuckDB(t, "SELECT count(DISTINCT row_group_id) FROM parquet_metadata("+file+")")
	if n, _ := rows[0][0].(string); n == "" || n == "1" {
		t.Errorf("row groups: %v, want several", rows[0][0])
	}
	_, rows = cdctest.DuckDB(t, "SELECT count(*), sum(after.id), bool_and(after.id = source.tx_id - 1), min(CAST(after.d38 AS VARCHAR)) FROM read_parquet("+file+")")
	if got := fmt.Sprint(rows[0]); got != "[3000 4498500 true -1234567890123456789012345678.0123456789]" {
		t.Errorf("DuckDB reads %s", got)
	}
}

// TestRefuse: values a column can't hold and changes of another schema
// are errors, and leave the file as it was.
func TestRefuse(t *testing.T) {
	ts := cdctest.Schema()
	other := cdctest.Schema()
	other.Version = 2
	for _, tc := range []struct {
		name string
		edit func(c *pipeline.Change)
		want string
	}{
		{"decimal too precise", func(c *pipeline.Change) { c.After[ts.Index("d5")] = cdctest.Rat("1.234") }, "more than 2 fractional digits"},
		{"decimal too long", func(c *pipeline.Change) { c.After[ts.Index("d5")] = cdctest.Rat("1234.5") }, "more than 5 digits"},
		{"wide decimal too long", func(c *pipeline.Change) {
			c.After[ts.Index("d38")] = new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), 200))
		}, "more than 38 digits"},
		{"bad uuid", func(c *pipeline.Change) { c.After[ts.Index("u")] = "not-a-uuid" }, "not a UUID"},
		{"wrong Go type", func(c *pipeline.Change) { c.After[ts.Index("i8")] = int32(1) }, "int32 is not a int64 value"},
		{"invalid UTF-8", func(c *pipeline.Change) { c.After[ts.Index("t")] = "\xff" }, "not valid UTF-8"},
		{"other version", func(c *pipeline.Change) { c.Schema = other }, "another table or version"},
		{"short row", func(c *pipeline.Change) { c.After = c.After[:3] }, "a row of 3 values"},
	} {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, ts, Options{})
		if err != nil {
			t.Fatal(err)
		}
		c := cdctest.Changes(ts)[1]
		c.After = append(pipeline.Row(nil), c.After...)
		tc.edit(&c)
		if err := w.Append(&c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if w.Rows() != 0 {
			t.Errorf("%s: Rows() = %d after a refused change", tc.name, w.Rows())
		}
	}
	if _, err := pageCodec("lz4"); err == nil {
		t.Error("pageCodec(lz4) accepted")
	}
}

// TestEmpty: a file without changes is a valid Parquet file with the
// schema (a snapshot of an empty table writes one).
func TestEmpty(t *testing.T) {
	file := cdctest.Quote(write(t, cdctest.Schema(), Options{}, nil))
	cols, rows := cdctest.DuckDB(t, "SELECT count(*) FROM read_parquet("+file+")")
	if len(rows) != 1 || text(rows[0][0]) != "0" {
		t.Errorf("DuckDB reads %v %v", cols, rows)
	}
	cols, _ = cdctest.DuckDB(t, "SELECT * FROM read_parquet("+file+")")
	if got := strings.Join(cols, " ")[:25]; got != "op:VARCHAR before:STRUCT(" {
		t.Errorf("columns %q", got)
	}
}
