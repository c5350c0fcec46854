package export_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/export"
)

// typed is a table of every type an export maps, in one database: its DDL
// and rows, and what an independent reader must see: DuckDB's type for
// each column and each value cast to text ("NULL" for NULL).
type typed struct {
	ddl    string
	insert []string
	cols   []string // name:duckdb type
	rows   [][]string
}

var typedTables = map[string]typed{
	"postgres": {
		ddl: `CREATE TABLE ty (i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,
			n1 numeric(10,2), n2 numeric(30,5), n3 numeric, b boolean, t text, by bytea, d date,
			ts timestamp, tz timestamptz, j json, jb jsonb)`,
		insert: []string{
			`INSERT INTO ty VALUES (-32768, -2147483648, -9223372036854775808, 1.5, -2.25, 12345678.91,
				-1234567890123456789012345.12345, 3.14159265358979323846, true, 'héllo "q"', '\x00ff10', '1969-07-20',
				'2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.123456+02', '{"a": [1, 2]}', '{"b": null}')`,
			`INSERT INTO ty VALUES (32767, 2147483647, 9223372036854775807, -0.125, 1e300, -0.01,
				0.00001, -42, false, '', '', '2000-01-01', '1900-01-01 00:00:00', '2038-01-19 03:14:08+00', '[]', '{}')`,
			`INSERT INTO ty VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
		},
		cols: []string{"i2:SMALLINT", "i4:INTEGER", "i8:BIGINT", "f4:FLOAT", "f8:DOUBLE", "n1:DECIMAL(10,2)", "n2:DECIMAL(30,5)",
			"n3:VARCHAR", "b:BOOLEAN", "t:VARCHAR", "by:BLOB", "d:DATE", "ts:TIMESTAMP", "tz:TIMESTAMP WITH TIME ZONE", "j:JSON", "jb:JSON"},
		rows: [][]string{
			{"-32768", "-2147483648", "-9223372036854775808", "1.5", "-2.25", "12345678.91", "-1234567890123456789012345.12345",
				"3.14159265358979323846", "true", `héllo "q"`, `\x00\xFF\x10`, "1969-07-20", "2024-02-29 13:14:15.123456",
				"2024-02-29 11:14:15.123456+00", `{"a": [1, 2]}`, `{"b": null}`},
			{"32767", "2147483647", "9223372036854775807", "-0.125", "1e+300", "-0.01", "0.00001", "-42", "false", "", "",
				"2000-01-01", "1900-01-01 00:00:00", "2038-01-19 03:14:08+00", "[]", "{}"},
			nulls(16),
		},
	},
	"mariadb": {
		ddl: `CREATE TABLE ty (ti TINYINT, si SMALLINT, i INT, bi BIGINT, ub BIGINT UNSIGNED, f FLOAT, d DOUBLE,
			n1 DECIMAL(10,2), n2 DECIMAL(30,5), b BOOLEAN, t TEXT, bl BLOB, dt DATE, ts DATETIME(6), tz TIMESTAMP(6) NULL, j JSON,
			us SMALLINT UNSIGNED, y YEAR)`,
		insert: []string{
			`INSERT INTO ty VALUES (-128, -32768, -2147483648, -9223372036854775808, 18446744073709551615, 1.5, -2.25,
				12345678.91, -1234567890123456789012345.12345, TRUE, 'héllo "q"', X'00ff10', '1969-07-20',
				'2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.123456', '{"a": [1, 2]}', 65535, 2155)`,
			`INSERT INTO ty VALUES (127, 32767, 2147483647, 9223372036854775807, 0, -0.125, 1e300,
				-0.01, 0.00001, FALSE, '', '', '2000-01-01', '1900-01-01 00:00:00', '2038-01-19 03:14:07', '[]', 0, 1901)`,
			`INSERT INTO ty VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
		},
		cols: []string{"ti:TINYINT", "si:SMALLINT", "i:INTEGER", "bi:BIGINT", "ub:UBIGINT", "f:FLOAT", "d:DOUBLE", "n1:DECIMAL(10,2)",
			"n2:DECIMAL(30,5)", "b:TINYINT", "t:VARCHAR", "bl:BLOB", "dt:DATE", "ts:TIMESTAMP", "tz:TIMESTAMP WITH TIME ZONE", "j:VARCHAR", "us:USMALLINT", "y:SMALLINT"},
		rows: [][]string{
			{"-128", "-32768", "-2147483648", "-9223372036854775808", "18446744073709551615", "1.5", "-2.25", "12345678.91",
				"-1234567890123456789012345.12345", "1", `héllo "q"`, `\x00\xFF\x10`, "1969-07-20", "2024-02-29 13:14:15.123456",
				"2024-02-29 13:14:15.123456+00", `{"a": [1, 2]}`, "65535", "2155"},
			{"127", "32767", "2147483647", "9223372036854775807", "0", "-0.125", "1e+300", "-0.01", "0.00001", "0", "", "",
				"2000-01-01", "1900-01-01 00:00:00", "2038-01-19 03:14:07+00", "[]", "0", "1901"},
			nulls(18),
		},
	},
	"sqlite": {
		ddl: `CREATE TABLE ty (i INTEGER, r REAL, t TEXT, bl BLOB, b BOOLEAN, d DATE, ts DATETIME, j JSON)`,
		insert: []string{
			`INSERT INTO ty VALUES (-9223372036854775808, 1.5, 'héllo "q"', X'00ff10', 1, '1969-07-20', '2024-02-29 13:14:15.123456', '{"a": [1, 2]}')`,
			`INSERT INTO ty VALUES (9223372036854775807, 1e300, '', X'', 0, '2000-01-01', '1900-01-01 00:00:00', '[]')`,
			`INSERT INTO ty VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
		},
		cols: []string{"i:BIGINT", "r:DOUBLE", "t:VARCHAR", "bl:BLOB", "b:BOOLEAN", "d:DATE", "ts:TIMESTAMP", "j:JSON", "e:BIGINT"},
		rows: [][]string{
			{"-9223372036854775808", "1.5", `héllo "q"`, `\x00\xFF\x10`, "true", "1969-07-20", "2024-02-29 13:14:15.123456", `{"a": [1, 2]}`, "2"},
			{"9223372036854775807", "1e+300", "", "", "false", "2000-01-01", "1900-01-01 00:00:00", "[]", "2"},
			append(nulls(8), "2"),
		},
	},
}

func nulls(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = "NULL"
	}
	return s
}

// TestParquetTypes exports every type, NULLs included, to Parquet and
// reads it back with DuckDB, a reader that shares no code with the writer:
// same types, same values.
func TestParquetTypes(t *testing.T) {
	forEachDB(t, func(t *testing.T, d db) {
		h := newHarness(t, d)
		tt := typedTables[d.name]
		h.exec(append([]string{tt.ddl}, tt.insert...)...)
		query := "SELECT * FROM ty"
		if d.name == "sqlite" {
			query = "SELECT *, 1 + 1 AS e FROM ty" // an expression: its first value types it
		}
		h.ok(export.Params{Query: query, URI: h.uri("types/ty"), Format: export.FormatParquet, Compression: export.CompressZstd})
		body := h.get("types/ty.part_00000")
		_, rows := decode(t, export.FormatParquet, false, body)
		if len(rows) != 3 {
			t.Fatalf("parquet-go read %d rows, want 3", len(rows))
		}
		for i, c := range rows[2] {
			if c != nil && (d.name != "sqlite" || i != len(rows[2])-1) {
				t.Errorf("column %d of the NULL row reads %q", i, *c)
			}
		}
		cols, got, ok := duckdb(t, body)
		if !ok {
			return
		}
		if strings.Join(cols, " ") != strings.Join(tt.cols, " ") {
			t.Errorf("DuckDB sees columns\n%v\nwant\n%v", cols, tt.cols)
		}
		for i := range tt.rows {
			if i >= len(got) || strings.Join(got[i], "|") != strings.Join(tt.rows[i], "|") {
				t.Errorf("DuckDB row %d:\n got %q\nwant %q", i, at(got, i), tt.rows[i])
			}
		}
	})
}

func at(rows [][]string, i int) []string {
	if i < len(rows) {
		return rows[i]
	}
	return nil
}

// duckdb reads a Parquet file with DuckDB through Node (@duckdb/node-api,
// from npm: S3BRIDGE_DUCKDB_NODE_MODULES names its node_modules, default
// /tmp/duckdbnode/node_modules): values cast to text, or with mode "json"
// as to_json writes them. ok is false, and the test says so, when it
// isn't installed: the parquet-go read above still ran.
func duckdb(t *testing.T, body []byte, mode ...string) (cols []string, rows [][]string, ok bool) {
	t.Helper()
	modules := os.Getenv("S3BRIDGE_DUCKDB_NODE_MODULES")
	if modules == "" {
		modules = "/tmp/duckdbnode/node_modules"
	}
	node, err := exec.LookPath("node")
	if _, serr := os.Stat(filepath.Join(modules, "@duckdb", "node-api")); err != nil || serr != nil {
		// scripts/test installs it; in CI the independent reader is required.
		testenv.Unavailable(t, "DuckDB (@duckdb/node-api, installed by scripts/test)", cmp.Or(err, serr))
		return nil, nil, false
	}
	file := filepath.Join(t.TempDir(), "x.parquet")
	must(t, os.WriteFile(file, body, 0o600))
	script, err := filepath.Abs(filepath.Join("testdata", "duckdb_read.cjs"))
	must(t, err)
	cmd := exec.CommandContext(t.Context(), node, append([]string{script, file}, mode...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("DuckDB could not read the file: %v\n%s", err, stderr.String())
	}
	var res struct {
		Columns []struct{ Name, Type string }
		Rows    [][]*string
	}
	must(t, json.Unmarshal(out, &res))
	for _, c := range res.Columns {
		cols = append(cols, c.Name+":"+c.Type)
	}
	for _, r := range res.Rows {
		var row []string
		for _, v := range r {
			if v == nil {
				row = append(row, "NULL")
			} else {
				row = append(row, *v)
			}
		}
		rows = append(rows, row)
	}
	return cols, rows, true
}
