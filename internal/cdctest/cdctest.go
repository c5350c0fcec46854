// Package cdctest holds what the tests of the pipeline's file formats
// share: a table with a column of every kind (Columns), changes of every
// op over it (Changes), and DuckDB as a reader independent of the writers
// (DuckDB). Only tests import it.
package cdctest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/pipeline"
)

// Column is a column of the test table, its value in the test row, and
// what the independent readers must see of it.
type Column struct {
	Name  string
	Type  pipeline.Type
	Value any
	// Duck is DuckDB's type of the column in a Parquet file's after
	// group, DuckText DuckDB's CAST of the value AS VARCHAR (with
	// TimeZone UTC). DuckDB reads a JSON field of a group as VARCHAR.
	Duck, DuckText string
	// JSON is the value in a JSON Lines file, as JSON text.
	JSON string
}

func typ(k pipeline.Kind, name string) pipeline.Type { return pipeline.Type{Kind: k, Name: name} }

func dec(p, s int) pipeline.Type {
	return pipeline.Type{Kind: pipeline.KindDecimal, Precision: p, Scale: s, Name: "numeric"}
}

func arr(elem pipeline.Type, dims int, name string) pipeline.Type {
	t := elem
	for range dims {
		e := t
		t = pipeline.Type{Kind: pipeline.KindArray, Elem: &e, Name: name}
	}
	return t
}

// Rat parses an exact decimal.
func Rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("bad rational " + s)
	}
	return r
}

// Columns returns the test table's columns: every kind, decimals of each
// Parquet physical type and beyond DECIMAL's 38 digits, arrays of one and
// two dimensions with NULL and empty ones, ±infinity, NaN, a name that is
// no Avro name.
func Columns() []Column {
	day := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	return []Column{
		{"id", typ(pipeline.KindInt32, "int4"), int32(-2147483648), "INTEGER", "-2147483648", `-2147483648`},
		{"s2", typ(pipeline.KindInt32, "int2"), int32(-32768), "INTEGER", "-32768", `-32768`},
		{"i8", typ(pipeline.KindInt64, "int8"), int64(9007199254740993), "BIGINT", "9007199254740993", `9007199254740993`},
		{"d5", dec(5, 2), Rat("-123.45"), "DECIMAL(5,2)", "-123.45", `"-123.45"`},
		{"d18", dec(18, 4), Rat("12345678901234.5678"), "DECIMAL(18,4)", "12345678901234.5678", `"12345678901234.5678"`},
		{"d38", dec(38, 10), Rat("-1234567890123456789012345678.0123456789"), "DECIMAL(38,10)",
			"-1234567890123456789012345678.0123456789", `"-1234567890123456789012345678.0123456789"`},
		{"d50", dec(50, 3), Rat("1234567890123456789012345678901234567890123456.7"), "VARCHAR",
			"1234567890123456789012345678901234567890123456.700", `"1234567890123456789012345678901234567890123456.700"`},
		{"d0", dec(3, 0), Rat("7"), "DECIMAL(3,0)", "7", `"7"`},
		{"n", typ(pipeline.KindNumeric, "numeric"), "NaN", "VARCHAR", "NaN", `"NaN"`},
		{"f4", typ(pipeline.KindFloat32, "float4"), float32(0.1), "FLOAT", "0.1", `0.1`},
		{"f8", typ(pipeline.KindFloat64, "float8"), -2.25e-10, "DOUBLE", "-2.25e-10", `-2.25e-10`},
		{"f8nan", typ(pipeline.KindFloat64, "float8"), math.NaN(), "DOUBLE", "nan", `"NaN"`},
		{"f8inf", typ(pipeline.KindFloat64, "float8"), math.Inf(-1), "DOUBLE", "-inf", `"-Infinity"`},
		{"ok", typ(pipeline.KindBool, "bool"), true, "BOOLEAN", "true", `true`},
		{"t", typ(pipeline.KindString, "text"), "Grüße 🎉\n\"q\"\\\u2028<&>", "VARCHAR", "Grüße 🎉\n\"q\"\\\u2028<&>", `"Grüße 🎉\n\"q\"\\\u2028<&>"`},
		{"b", typ(pipeline.KindBytes, "bytea"), []byte{0, 0xff, 'a'}, "BLOB", `\x00\xFFa`, `"AP9h"`},
		{"d", typ(pipeline.KindDate, "date"), day, "DATE", "2024-02-29", `"2024-02-29"`},
		{"dbc", typ(pipeline.KindDate, "date"), time.Date(-43, 3, 15, 0, 0, 0, 0, time.UTC), "DATE", "0044-03-15 (BC)", `"-0043-03-15"`},
		{"dinf", typ(pipeline.KindDate, "date"), pipeline.TimeInfinity, "DATE", "294247-01-10", `"infinity"`},
		{"tm", typ(pipeline.KindTime, "time"), 12*time.Hour + 34*time.Minute + 56789*time.Millisecond, "TIME", "12:34:56.789", `"12:34:56.789000"`},
		{"ts", typ(pipeline.KindTimestamp, "timestamp"), day.Add(13*time.Hour + 14*time.Minute + 15123*time.Millisecond),
			"TIMESTAMP", "2024-02-29 13:14:15.123", `"2024-02-29T13:14:15.123000"`},
		{"tsinf", typ(pipeline.KindTimestamp, "timestamp"), pipeline.TimeInfinity, "TIMESTAMP", "infinity", `"infinity"`},
		{"tstz", typ(pipeline.KindTimestampTZ, "timestamptz"), day.Add(11*time.Hour + 14*time.Minute + 15123456*time.Microsecond),
			"TIMESTAMP WITH TIME ZONE", "2024-02-29 11:14:15.123456+00", `"2024-02-29T11:14:15.123456Z"`},
		{"u", typ(pipeline.KindUUID, "uuid"), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "UUID",
			"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`},
		{"j", typ(pipeline.KindJSON, "jsonb"), `{"a": [1, 2], "b": null}`, "VARCHAR", `{"a": [1, 2], "b": null}`, `"{\"a\": [1, 2], \"b\": null}"`},
		{"e", typ(pipeline.KindEnum, "public.mood"), "happy", "VARCHAR", "happy", `"happy"`},
		{"iv", typ(pipeline.KindText, "interval"), "1 year 2 mons", "VARCHAR", "1 year 2 mons", `"1 year 2 mons"`},
		{"ai", arr(typ(pipeline.KindInt32, "int4"), 1, "_int4"), []any{int32(1), nil, int32(3)}, "INTEGER[]", "[1, NULL, 3]", `[1,null,3]`},
		{"aempty", arr(typ(pipeline.KindInt32, "int4"), 1, "_int4"), []any{}, "INTEGER[]", "[]", `[]`},
		{"am", arr(typ(pipeline.KindInt32, "int4"), 2, "_int4"), []any{[]any{int32(1), int32(2)}, []any{int32(3), nil}, []any{}},
			"INTEGER[][]", "[[1, 2], [3, NULL], []]", `[[1,2],[3,null],[]]`},
		{"an", arr(dec(10, 2), 1, "_numeric"), []any{Rat("1.5"), nil}, "DECIMAL(10,2)[]", "[1.50, NULL]", `["1.50",null]`},
		{"at", arr(typ(pipeline.KindString, "text"), 1, "_text"), []any{"x", "y z", nil, ""}, "VARCHAR[]", "[x, y z, NULL, '']", `["x","y z",null,""]`},
		{"au", arr(typ(pipeline.KindUUID, "uuid"), 1, "_uuid"), []any{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", nil}, "UUID[]",
			"[a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11, NULL]", `["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",null]`},
		{"Odd Name", typ(pipeline.KindInt64, "int8"), int64(-1), "BIGINT", "-1", `-1`},
	}
}

// Field returns the .avsc's name of a Columns name: the one column whose
// name is no Avro name, "Odd Name", is Odd_Name.
func Field(name string) string {
	if name == "Odd Name" {
		return "Odd_Name"
	}
	return name
}

// Schema returns the test table shop.public.every, version 1.
func Schema() *pipeline.TableSchema {
	ts := &pipeline.TableSchema{Database: "shop", Schema: "public", Table: "every", Version: 1}
	for i, c := range Columns() {
		ts.Columns = append(ts.Columns, pipeline.Column{Name: c.Name, Type: c.Type, Nullable: true, Key: i == 0})
	}
	return ts
}

// Row returns the test row.
func Row() pipeline.Row {
	var r pipeline.Row
	for _, c := range Columns() {
		r = append(r, c.Value)
	}
	return r
}

// Commit is the commit time of Changes' transactions.
var Commit = time.Date(2025, 1, 2, 3, 4, 5, 678901000, time.UTC)

// Changes returns one change of each kind over ts (Schema): a snapshot
// read, an insert, an update with a full before image, an update whose
// TOASTed column t did not change, a delete with the key only, a truncate
// and an insert of NULLs but the key; the first four with a place in a
// binary log (Binlogs).
func Changes(ts *pipeline.TableSchema) []pipeline.Change {
	full := Row()
	toasted := Row()
	toasted[ts.Index("t")] = nil
	key := make(pipeline.Row, len(full))
	key[0] = full[0]
	src := func(lsn pipeline.LSN, tx int64) pipeline.Source {
		s := pipeline.Source{LSN: lsn, TxID: tx, CommitTime: Commit, Database: ts.Database, Schema: ts.Schema, Table: ts.Table}
		if tx == 0 {
			s.CommitTime, s.Snapshot = time.Time{}, true
		}
		return s
	}
	changes := []pipeline.Change{
		{Op: pipeline.OpRead, Schema: ts, After: full, Source: src(0x16B3F28, 0)},
		{Op: pipeline.OpCreate, Schema: ts, After: full, Source: src(0x1_0000_0100, 501)},
		{Op: pipeline.OpUpdate, Schema: ts, Before: full, After: full, Source: src(0x1_0000_0200, 502)},
		{Op: pipeline.OpUpdate, Schema: ts, After: toasted, Source: src(0x1_0000_0200, 502), UnchangedToast: []string{"t"}},
		{Op: pipeline.OpDelete, Schema: ts, Before: key, Source: src(0x1_0000_0300, 503)},
		{Op: pipeline.OpTruncate, Schema: ts, Source: src(0x1_0000_0400, 504)},
		{Op: pipeline.OpCreate, Schema: ts, After: key, Source: src(0x1_0000_0500, 505)},
	}
	for i, b := range Binlogs() {
		changes[i].Source.Binlog = b
	}
	return changes
}

// Binlogs returns the places in a MariaDB binary log of the first
// Changes: the snapshot read's seam (GTIDs of two domains, no server),
// the insert's, the updates' (one transaction's, one value, at the
// limits of the fields). The others have none, as PostgreSQL's changes.
func Binlogs() []*pipeline.BinlogPosition {
	upd := &pipeline.BinlogPosition{GTID: "4294967295-4294967295-18446744073709551615", File: "mariadb-bin.1000000",
		Pos: 4294967295, ServerID: 4294967295}
	return []*pipeline.BinlogPosition{
		{GTID: "0-1-41,1-2-7", File: "mariadb-bin.000001", Pos: 4},
		{GTID: "0-1-42", File: "mariadb-bin.000001", Pos: 256, ServerID: 1},
		upd, upd,
	}
}

// duckdbScript runs one query with DuckDB and prints its columns and rows
// as JSON: {"columns":[{"name","type"}],"rows":[[…]]}.
const duckdbScript = `
const { DuckDBInstance } = require('@duckdb/node-api');
(async () => {
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  await c.run("SET TimeZone = 'UTC'");
  const r = await c.runAndReadAll(process.argv[1]);
  const names = r.columnNames(), types = r.columnTypes().map(String);
  console.log(JSON.stringify({ columns: names.map((n, i) => ({ name: n, type: types[i] })), rows: r.getRowsJson() }));
})().catch((e) => { console.error(String(e)); process.exit(1); });
`

// DuckDB runs query with DuckDB (its npm package @duckdb/node-api, under
// S3BRIDGE_DUCKDB_NODE_MODULES, which scripts/services.sh installs), with
// the time zone UTC. It returns the result's columns as "name:TYPE" and
// its rows as the package's getRowsJson gives them: cast a value to
// VARCHAR in the query to get its text. Without DuckDB the test is skipped,
// and fails under CI=true.
func DuckDB(t testing.TB, query string) (cols []string, rows [][]any) {
	t.Helper()
	modules := cmp.Or(os.Getenv("S3BRIDGE_DUCKDB_NODE_MODULES"), "/tmp/duckdbnode/node_modules")
	node, err := exec.LookPath("node")
	if _, serr := os.Stat(filepath.Join(modules, "@duckdb", "node-api")); err != nil || serr != nil {
		testenv.Unavailable(t, "DuckDB (@duckdb/node-api, scripts/services.sh ensure_duckdb)", cmp.Or(err, serr))
		return nil, nil
	}
	cmd := exec.CommandContext(t.Context(), node, "-e", duckdbScript, query)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("DuckDB: %s: %v\n%s", query, err, stderr.String())
	}
	var res struct {
		Columns []struct{ Name, Type string }
		Rows    [][]any
	}
	d := json.NewDecoder(bytes.NewReader(out))
	d.UseNumber()
	if err := d.Decode(&res); err != nil {
		t.Fatalf("DuckDB output %.200s: %v", out, err)
	}
	for _, c := range res.Columns {
		cols = append(cols, c.Name+":"+c.Type)
	}
	return cols, res.Rows
}

// Quote quotes s as a SQL string literal.
func Quote(s string) string {
	return "'" + string(bytes.ReplaceAll([]byte(s), []byte("'"), []byte("''"))) + "'"
}

// Writer is a file format's record writer (format/avro, cdcparquet,
// cdcjson).
type Writer interface {
	Append(c *pipeline.Change) error
	Close() error
	Rows() int64
	Written() int64
}

// WriteFile writes changes through the writer newWriter makes over a
// buffer, checks its Rows and Written against what it wrote, and stores
// the file as name in a temporary directory: its path.
func WriteFile(t testing.TB, name string, changes []pipeline.Change, newWriter func(io.Writer) (Writer, error)) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := newWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range changes {
		if err := w.Append(&changes[i]); err != nil {
			t.Fatalf("append change %d: %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Rows() != int64(len(changes)) || w.Written() != int64(buf.Len()) {
		t.Errorf("Rows() = %d, Written() = %d; want %d, %d", w.Rows(), w.Written(), len(changes), buf.Len())
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
