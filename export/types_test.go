package export_test

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/export"
)

// richTables are, per database, a table of the types that have a Parquet
// type of their own beyond the scalar ones of typedTables: arrays (empty,
// with NULL elements, nested), times of day, UUIDs, JSON, and the types
// that stay text. cols are DuckDB's types; native is a query giving each
// column's value as the database itself writes it in JSON (NULL for SQL
// NULL), in the order of SELECT * FROM nt ORDER BY id.
type richTable struct {
	setup  []string
	cols   []string
	native string
	// nativeJSONL is native for JSON Lines, when it differs: JSON Lines
	// keeps MariaDB's TIME as MariaDB prints it.
	nativeJSONL string
}

var richTables = map[string]richTable{
	"postgres": {
		setup: []string{
			`CREATE TYPE mood AS ENUM ('sad', 'happy')`,
			`CREATE TABLE nt (id int, ai int[], at text[], am int[][], an numeric(10,2)[], anum numeric[], ab boolean[], ad date[],
				au uuid[], aj jsonb[], aiv interval[], ae mood[], tm time, u uuid, j json, jb jsonb, n numeric, iv interval, ip inet,
				r int4range, e mood)`,
			`INSERT INTO nt VALUES
				(1, '{1,2,NULL}', '{x,"y z",NULL,"","NULL","a\"b\\c"}', '{{1,2},{3,NULL}}', '{1.5,NULL,-0.01}',
				'{3.14159265358979323846,NULL,-2.5}', '{t,f,NULL}', '{2024-02-29,1969-07-20,NULL}',
				'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}', ARRAY['{"a": [1, 2]}'::jsonb, NULL, 'null'], '{"1 day",NULL}',
				'{sad,happy,NULL}', '12:34:56.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2]}', '{"b": null}',
				3.14159265358979323846, '1 year 2 mons', '10.0.0.1/8', '[1,5)', 'happy'),
				(2, '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '23:59:59.999999',
				'00000000-0000-0000-0000-000000000000', '[]', '{}', -42, '-1 days', '::1', 'empty', 'sad'),
				(3, '{NULL}', '{NULL}', '{{NULL,NULL}}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}',
				'24:00:00', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', 'null', '"s"', 0.0000000005, '00:00:01.5', '192.168.0.1', '(,3]', NULL),
				(4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
		},
		cols: []string{"id:INTEGER", "ai:INTEGER[]", "at:VARCHAR[]", "am:INTEGER[][]", "an:DECIMAL(10,2)[]", "anum:VARCHAR[]",
			"ab:BOOLEAN[]", "ad:DATE[]", "au:UUID[]", "aj:JSON[]", "aiv:VARCHAR[]", "ae:VARCHAR[]", "tm:TIME", "u:UUID", "j:JSON",
			"jb:JSON", "n:VARCHAR", "iv:VARCHAR", "ip:VARCHAR", "r:VARCHAR", "e:VARCHAR"},
		native: `SELECT to_json(id)::text, to_json(ai)::text, to_json(at)::text, to_json(am)::text, to_json(an)::text, to_json(anum)::text,
			to_json(ab)::text, to_json(ad)::text, to_json(au)::text, to_json(aj)::text, to_json(aiv)::text, to_json(ae)::text,
			to_json(tm)::text, to_json(u)::text, to_json(j)::text, to_json(jb)::text, to_json(n)::text, to_json(iv)::text,
			to_json(ip)::text, to_json(r)::text, to_json(e)::text FROM nt ORDER BY id`,
	},
	"mariadb": {
		setup: []string{
			`CREATE TABLE nt (id INT, tm TIME(6), s SET('a', 'b c', 'd'), e ENUM('x', 'y'), j JSON)`,
			`INSERT INTO nt VALUES (1, '12:34:56.5', 'a,d', 'x', '{"a": [1, 2]}'), (2, '00:00:00', '', 'y', '[]'),
				(3, '23:59:59.999999', 'b c', NULL, 'null'), (4, NULL, NULL, NULL, NULL)`,
		},
		// MariaDB's JSON is a LONGTEXT its protocol doesn't tell apart:
		// text (see myColumns).
		cols: []string{"id:INTEGER", "tm:TIME", "s:VARCHAR[]", "e:VARCHAR", "j:VARCHAR"},
		// TRIM(TRAILING …) drops the zeros MariaDB pads TIME(6) with, and
		// the set becomes the JSON array of its members.
		native: `SELECT id, JSON_QUOTE(TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST(tm AS CHAR)))),
			IF(s = '', '[]', CONCAT('["', REPLACE(s, ',', '","'), '"]')), JSON_QUOTE(e), JSON_QUOTE(j) FROM nt ORDER BY id`,
		nativeJSONL: `SELECT id, JSON_QUOTE(CAST(tm AS CHAR)),
			IF(s = '', '[]', CONCAT('["', REPLACE(s, ',', '","'), '"]')), JSON_QUOTE(e), JSON_QUOTE(j) FROM nt ORDER BY id`,
	},
	"sqlite": {
		setup: []string{
			`CREATE TABLE nt (id INTEGER, tm TIME)`,
			`INSERT INTO nt VALUES (1, '12:34:56.5'), (2, '00:00:00'), (3, '24:00:00'), (4, NULL)`,
		},
		cols:   []string{"id:BIGINT", "tm:TIME"},
		native: `SELECT id, CASE WHEN tm IS NOT NULL THEN json_quote(tm) END FROM nt ORDER BY id`,
	},
}

// TestParquetRichTypes exports arrays, times of day, UUIDs and JSON to
// Parquet and JSON Lines. DuckDB must see each Parquet column's type and
// the values the database itself gives in JSON (to_json on both sides),
// and each JSON Lines value must be that same JSON.
func TestParquetRichTypes(t *testing.T) {
	forEachDB(t, func(t *testing.T, d db) {
		h := newHarness(t, d)
		rt := richTables[d.name]
		h.exec(rt.setup...)
		native := h.nativeJSON(rt.native)
		nativeJL := native
		if rt.nativeJSONL != "" {
			nativeJL = h.nativeJSON(rt.nativeJSONL)
		}
		h.ok(export.Params{Query: "SELECT * FROM nt ORDER BY id", URI: h.uri("rich/pq"), Format: export.FormatParquet})
		h.ok(export.Params{Query: "SELECT * FROM nt ORDER BY id", URI: h.uri("rich/jl"), Format: export.FormatJSONL})

		lines := jsonLines(t, h.get("rich/jl.part_00000"))
		for i, want := range nativeJL {
			for j, w := range want {
				if w == "NULL" {
					w = "null" // JSON Lines writes SQL NULL as null
				}
				if i >= len(lines) || !sameJSON(t, lines[i][j], w) {
					t.Errorf("JSON Lines row %d column %s: %s, want %s", i+1, rt.cols[j], at(lines, i), w)
				}
			}
		}

		if d.name == "mariadb" {
			// MariaDB's TIME is a duration; Parquet's a time of day.
			h.fails(export.Params{Query: "SELECT TIME'01:00:00' AS a, TIMEDIFF('2024-01-01 00:00:00', '2024-01-02 00:00:01') AS tm",
				URI: h.uri("rich/neg"), Format: export.FormatParquet}, "row 1: column tm", "not a time of day")
		}
		cols, got, ok := duckdb(t, h.get("rich/pq.part_00000"), "json")
		if !ok {
			return
		}
		if !reflect.DeepEqual(cols, rt.cols) {
			t.Errorf("DuckDB sees columns\n%v\nwant\n%v", cols, rt.cols)
		}
		compareNative(t, got, native, rt.cols)
	})
}

// TestParquetNumericAs: with NumericAs, numeric columns without a
// precision (and arrays of them) are DECIMAL(P,S), rounded as PostgreSQL's
// own cast to numeric(P,S) rounds; a value too large, or NaN, fails the
// export naming its column and row. A nested array that an expression's
// type can't describe fails as clearly.
func TestParquetNumericAs(t *testing.T) {
	h := newHarness(t, dbs[1])
	h.exec(richTables["postgres"].setup...)
	h.fails(export.Params{Query: "SELECT n FROM (VALUES (1), (1e30)) AS v(n)", URI: h.uri("num/big"), Format: export.FormatParquet,
		NumericAs: "decimal(38,9)"}, "row 2: column n", "decimal(38,9)")
	h.fails(export.Params{Query: "SELECT n FROM (VALUES (1), (1e30)) AS v(n)", URI: h.uri("num/bigcopy"),
		CopyOptions: "format parquet, numeric_as 'decimal(38,9)'"}, "row 2: column n", "decimal(38,9)")
	h.fails(export.Params{Query: "SELECT 'NaN'::numeric AS n", URI: h.uri("num/nan"), Format: export.FormatParquet,
		NumericAs: "decimal(38,9)"}, "row 1: column n", "NaN")
	h.fails(export.Params{Query: "SELECT 1 AS one, ARRAY[[1, 2], [3, 4]] AS m", URI: h.uri("num/dims"), Format: export.FormatParquet},
		"row 1: column m", "2-dimensional")
	h.fails(export.Params{Query: "SELECT n FROM nt", URI: h.uri("num/csv"), Format: export.FormatCSV, NumericAs: "decimal(38,9)"},
		"numeric-as applies to parquet")
	h.ok(export.Params{Query: "SELECT n, anum FROM nt ORDER BY id", URI: h.uri("num/pq"), Format: export.FormatParquet, NumericAs: "decimal(38, 9)"})
	native := h.nativeJSON(`SELECT to_json(n::numeric(38,9))::text, to_json(anum::numeric(38,9)[])::text FROM nt ORDER BY id`)
	cols, got, ok := duckdb(t, h.get("num/pq.part_00000"), "json")
	if ok {
		want := []string{"n:DECIMAL(38,9)", "anum:DECIMAL(38,9)[]"}
		if !reflect.DeepEqual(cols, want) {
			t.Errorf("DuckDB sees columns %v, want %v", cols, want)
		}
		compareNative(t, got, native, want)
	}
}

// TestTextArrays: the delimited formats print arrays, times and UUIDs as
// PostgreSQL's COPY does, when COPY writes them and when the rows go
// through the encoder (a dialect COPY has no option for).
func TestTextArrays(t *testing.T) {
	h := newHarness(t, dbs[1])
	h.exec(richTables["postgres"].setup...)
	q := "SELECT ai, at, am, tm, u FROM nt ORDER BY id"
	h.ok(export.Params{Query: q, URI: h.uri("txt/copy"), Format: export.FormatText})
	crlf := "\r\n"
	h.ok(export.Params{Query: q, URI: h.uri("txt/rows"), Format: export.FormatText, Fields: export.Fields{LinesTerminatedBy: &crlf}})
	copied := string(h.get("txt/copy.part_00000"))
	encoded := strings.ReplaceAll(string(h.get("txt/rows.part_00000")), "\r\n", "\n")
	if copied != encoded {
		t.Errorf("COPY wrote\n%s\nthe encoder\n%s", copied, encoded)
	}
	if want := "{1,2,NULL}\t{x,\"y z\",NULL,\"\",\"NULL\",\"a\\\\\"b\\\\\\\\c\"}\t{{1,2},{3,NULL}}\t12:34:56.789\ta0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\n"; !strings.HasPrefix(copied, want) {
		t.Errorf("first line %q, want %q", strings.SplitAfter(copied, "\n")[0], want)
	}
}

// nativeJSON runs q, whose columns are JSON text, and returns its rows
// with "NULL" for SQL NULL.
func (h *harness) nativeJSON(q string) [][]string {
	h.t.Helper()
	rows, err := h.db.QueryContext(h.t.Context(), q)
	must(h.t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	must(h.t, err)
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		must(h.t, rows.Scan(ptrs...))
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = "NULL"
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	must(h.t, rows.Err())
	return out
}

// compareNative compares DuckDB's to_json of each value with the
// database's.
func compareNative(t *testing.T, got, native [][]string, cols []string) {
	t.Helper()
	if len(got) != len(native) {
		t.Fatalf("DuckDB read %d rows, the database has %d", len(got), len(native))
	}
	for i, want := range native {
		for j, w := range want {
			g := got[i][j]
			if (g == "NULL") != (w == "NULL") || (w != "NULL" && !sameJSON(t, g, w)) {
				t.Errorf("row %d column %s: DuckDB reads %s, the database has %s", i+1, cols[j], g, w)
			}
		}
	}
}

// jsonLines splits a JSON Lines file into each line's values, as JSON.
func jsonLines(t *testing.T, body []byte) [][]string {
	t.Helper()
	var rows [][]string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("line %q: not an object", sc.Text())
		}
		var row []string
		for dec.More() {
			_, err := dec.Token()
			must(t, err)
			var v json.RawMessage
			must(t, dec.Decode(&v))
			row = append(row, string(v))
		}
		rows = append(rows, row)
	}
	return rows
}

// sameJSON compares two JSON texts by value: numbers by their digits
// (1.50 is 1.5), and a number the same as a string of it, since a
// numeric exported as text is a string on one side only.
func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	va, vb := decodeJSON(t, a), decodeJSON(t, b)
	return equalJSON(va, vb)
}

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}

func equalJSON(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !equalJSON(x[k], y[k]) {
				return false
			}
		}
		return true
	case json.Number:
		return number(string(x)) == numberOf(b)
	case string:
		if n, ok := b.(json.Number); ok {
			return number(x) == number(string(n))
		}
	}
	return reflect.DeepEqual(a, b)
}

func numberOf(v any) string {
	switch v := v.(type) {
	case json.Number:
		return number(string(v))
	case string:
		return number(v)
	}
	return "?"
}

// number normalizes a decimal's text: no trailing fractional zeros, no
// "-" on zero.
func number(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if strings.Trim(s, "-0") == "" {
		return "0"
	}
	return s
}
