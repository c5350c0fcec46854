package cdcjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/cdctest"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/pipeline"
)

var now = time.Date(2025, 6, 7, 8, 9, 10, 123000000, time.UTC)

// write writes changes into a file in a temporary directory, named with
// the codec's extension, and returns its path.
func write(t *testing.T, ts *pipeline.TableSchema, opts Options, changes []pipeline.Change) string {
	t.Helper()
	opts.Now = func() time.Time { return now }
	codec, _ := Check(opts.Codec)
	return cdctest.WriteFile(t, "f"+Ext(codec), changes, func(w io.Writer) (cdctest.Writer, error) { return NewWriter(w, ts, opts) })
}

// pyRead is Python's json module reading a JSON Lines file (plain or
// gzip): strict (no NaN or Infinity literals, no duplicate keys), one
// output line per input line: [top-level keys, keys of after, the object].
const pyRead = `
import gzip, json, sys
def pairs(ps):
    keys = [k for k, _ in ps]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate keys %r" % keys)
    return dict(ps)
def bad(c):
    raise ValueError("non-JSON constant " + c)
path = sys.argv[1]
f = gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")
data = f.read()
if not data.endswith("\n"):
    raise ValueError("the last line has no newline")
for line in data.split("\n")[:-1]:
    o = json.loads(line, object_pairs_hook=pairs, parse_constant=bad)
    print(json.dumps([list(o), list(o["after"] or {}), o]))
`

type pyLine struct {
	keys, afterKeys []string
	obj             any
}

func pyReadFile(t *testing.T, path string) []pyLine {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import json, gzip").Run(); err != nil {
		testenv.Unavailable(t, "/usr/bin/python3", err)
	}
	out, err := exec.CommandContext(t.Context(), "/usr/bin/python3", "-c", pyRead, path).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("python3 json reads %s: %v\n%s", path, err, stderr)
	}
	var lines []pyLine
	for _, l := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		var v []json.RawMessage
		var pl pyLine
		if err := json.Unmarshal([]byte(l), &v); err != nil || len(v) != 3 {
			t.Fatalf("python output %q: %v", l, err)
		}
		json.Unmarshal(v[0], &pl.keys)
		json.Unmarshal(v[1], &pl.afterKeys)
		pl.obj = decode(t, string(v[2]))
		lines = append(lines, pl)
	}
	return lines
}

func decode(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("JSON %q: %v", s, err)
	}
	return v
}

// expected returns the JSON object the i-th of cdctest.Changes must be,
// built from the fixture's JSON texts.
func expected(i int, c pipeline.Change) string {
	cols := cdctest.Columns()
	row := func(r pipeline.Row) string {
		if r == nil {
			return "null"
		}
		var parts []string
		for i, col := range cols {
			v := "null"
			if r[i] != nil {
				v = col.JSON
			}
			parts = append(parts, fmt.Sprintf("%q:%s", cdctest.Field(col.Name), v))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	s := c.Source
	tx, commit := "null", "null"
	if s.TxID != 0 {
		tx, commit = fmt.Sprint(s.TxID), `"2025-01-02T03:04:05.678901Z"`
	}
	// The binary-log places of cdctest.Binlogs, written out by hand.
	binlog := `"gtid":null,"file":null,"pos":null,"server_id":null`
	switch i {
	case 0:
		binlog = `"gtid":"0-1-41,1-2-7","file":"mariadb-bin.000001","pos":4,"server_id":null`
	case 1:
		binlog = `"gtid":"0-1-42","file":"mariadb-bin.000001","pos":256,"server_id":1`
	case 2, 3:
		binlog = `"gtid":"4294967295-4294967295-18446744073709551615","file":"mariadb-bin.1000000","pos":4294967295,"server_id":4294967295`
	}
	toast, _ := json.Marshal(append([]string{}, c.UnchangedToast...))
	return fmt.Sprintf(`{"op":%q,"before":%s,"after":%s,"source":{"lsn":%d,"tx_id":%s,"commit_ts":%s,"database":"shop","schema":"public","table":"every","snapshot":%t,%s},"ts_ms":%d,"unchanged_toast_columns":%s}`,
		c.Op.String(), row(c.Before), row(c.After), uint64(s.LSN), tx, commit, s.Snapshot, binlog, now.UnixMilli(), toast)
}

// TestTypesPython writes a change of every op over a column of every
// kind and reads the file with Python's json module: every line a strict
// JSON object with the envelope's fields in order and every value as the
// package comment says.
func TestTypesPython(t *testing.T) {
	ts := cdctest.Schema()
	changes := cdctest.Changes(ts)
	for _, codec := range []pipeline.Codec{pipeline.CodecNull, pipeline.CodecDeflate} {
		t.Run(string(codec), func(t *testing.T) {
			lines := pyReadFile(t, write(t, ts, Options{Codec: codec, BufferSize: 100}, changes))
			if len(lines) != len(changes) {
				t.Fatalf("python reads %d lines, want %d", len(lines), len(changes))
			}
			var fields []string
			for _, c := range cdctest.Columns() {
				fields = append(fields, cdctest.Field(c.Name))
			}
			for i, l := range lines {
				if got := strings.Join(l.keys, ","); got != "op,before,after,source,ts_ms,unchanged_toast_columns" {
					t.Errorf("line %d keys %s", i, got)
				}
				if changes[i].After != nil && !reflect.DeepEqual(l.afterKeys, fields) {
					t.Errorf("line %d: after's keys %v, want %v", i, l.afterKeys, fields)
				}
				want := decode(t, expected(i, changes[i]))
				if !reflect.DeepEqual(l.obj, want) {
					got, _ := json.Marshal(l.obj)
					wantJS, _ := json.Marshal(want)
					t.Errorf("line %d:\n got %s\nwant %s", i, got, wantJS)
				}
			}
		})
	}
}

// TestDuckDBReadsEveryCodec: DuckDB's read_json reads the files of every
// codec (zstd and gzip found by the extension) with the same rows.
func TestDuckDBReadsEveryCodec(t *testing.T) {
	ts := cdctest.Schema()
	changes := cdctest.Changes(ts)
	for _, codec := range []pipeline.Codec{pipeline.CodecZStd, pipeline.CodecDeflate, pipeline.CodecNull} {
		file := cdctest.Quote(write(t, ts, Options{Codec: codec}, changes))
		// DuckDB reads the values as text and JSON numbers; casts check
		// that it parses the texts as their types.
		_, rows := cdctest.DuckDB(t, `SELECT op, CAST(after.i8 AS VARCHAR), CAST(CAST(after.d38 AS DECIMAL(38,10)) AS VARCHAR),
			CAST(CAST(after.ts AS TIMESTAMP) AS VARCHAR) || ' ' || CAST(CAST(after.tstz AS TIMESTAMPTZ) AS VARCHAR)
			|| ' ' || CAST(CAST(after.tm AS TIME) AS VARCHAR) || ' ' || CAST(CAST(after.d AS DATE) AS VARCHAR)
			|| ' ' || CAST(CAST(after.u AS UUID) AS VARCHAR),
			CAST(after.at AS VARCHAR), CAST(source.lsn AS VARCHAR), CAST(unchanged_toast_columns AS VARCHAR)
			FROM read_json(`+file+`, format = 'newline_delimited') ORDER BY source.lsn, op`)
		got := fmt.Sprint(rows)
		row := "9007199254740993 -1234567890123456789012345678.0123456789 2024-02-29 13:14:15.123 2024-02-29 11:14:15.123456+00 " +
			"12:34:56.789 2024-02-29 a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 [x, y z, NULL, '']"
		want := "[[r " + row + " 23805736 []] [c " + row + " 4294967552 []] [u " + row + " 4294967808 []] " +
			"[u " + row + " 4294967808 [t]] [d <nil> <nil> <nil> <nil> 4294968064 []] [t <nil> <nil> <nil> <nil> 4294968320 []] " +
			"[c <nil> <nil> <nil> <nil> 4294968576 []]]"
		if got != want {
			t.Errorf("%s: DuckDB reads\n%s\nwant\n%s", codec, got, want)
		}
		// ±infinity, read as text (read_json's own detection of
		// timestamp formats takes "infinity" for something else).
		_, rows = cdctest.DuckDB(t, `SELECT CAST(CAST(json_extract_string(json, '$.after.tsinf') AS TIMESTAMP) AS VARCHAR),
			CAST(CAST(json_extract_string(json, '$.after.dinf') AS DATE) AS VARCHAR), json_extract_string(json, '$.after.f8inf')
			FROM read_ndjson_objects(`+file+`) WHERE json_extract_string(json, '$.op') = 'r'`)
		if got := fmt.Sprint(rows); got != "[[infinity infinity -Infinity]]" {
			t.Errorf("%s: DuckDB reads the infinities as %s", codec, got)
		}
	}
}

// TestCodecs: snappy is refused with the codecs to use instead, and the
// extensions follow the codec.
func TestCodecs(t *testing.T) {
	if _, err := NewWriter(&bytes.Buffer{}, cdctest.Schema(), Options{Codec: pipeline.CodecSnappy}); err == nil || !strings.Contains(err.Error(), "use zstd (.jsonl.zst), deflate (gzip, .jsonl.gz) or null") {
		t.Errorf("snappy: %v", err)
	}
	for c, want := range map[pipeline.Codec]string{"": ".jsonl", pipeline.CodecNull: ".jsonl", pipeline.CodecDeflate: ".jsonl.gz", pipeline.CodecZStd: ".jsonl.zst"} {
		if got := Ext(c); got != want {
			t.Errorf("%q.Ext() = %s, want %s", c, got, want)
		}
	}
}

// TestRefuse: values a column can't hold and changes of another schema
// are errors, and leave the file as it was.
func TestRefuse(t *testing.T) {
	ts := cdctest.Schema()
	other := cdctest.Schema()
	other.Table = "other"
	for _, tc := range []struct {
		name string
		edit func(c *pipeline.Change)
		want string
	}{
		{"decimal too precise", func(c *pipeline.Change) { c.After[ts.Index("d5")] = cdctest.Rat("1.234") }, "more than 2 fractional digits"},
		{"wrong Go type", func(c *pipeline.Change) { c.After[ts.Index("d")] = "2024-01-01" }, "string is not a date value"},
		{"invalid UTF-8", func(c *pipeline.Change) { c.After[ts.Index("at")] = []any{"\xff"} }, "element 1: string"},
		{"other table", func(c *pipeline.Change) { c.Schema = other }, "another table or version"},
		{"invalid op", func(c *pipeline.Change) { c.Op = 'x' }, "invalid op"},
	} {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, ts, Options{BufferSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		c := cdctest.Changes(ts)[1]
		c.After = append(pipeline.Row(nil), c.After...)
		tc.edit(&c)
		if err := w.Append(&c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if err := w.Close(); err != nil || buf.Len() != 0 || w.Rows() != 0 {
			t.Errorf("%s: a refused change left %q, %d rows (%v)", tc.name, buf.String(), w.Rows(), err)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		bits int
		want string
	}{
		{0, 64, "0"}, {1e21, 64, "1e+21"}, {1e20, 64, "100000000000000000000"}, {1e-7, 64, "1e-7"},
		{1.5e-6, 64, "0.0000015"}, {float64(float32(3.4028235e38)), 32, "3.4028235e+38"}, {float64(float32(16777217)), 32, "16777216"},
	} {
		if got := string(appendFloat(nil, tc.f, tc.bits)); got != tc.want {
			t.Errorf("appendFloat(%g, %d) = %s, want %s", tc.f, tc.bits, got, tc.want)
		}
	}
}
