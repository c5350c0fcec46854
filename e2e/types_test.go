package e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/filecheck"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/s3store"
)

// typesDDL is a table with a column of every type of issue 17's table:
// the scalars, arrays (one and two dimensions, NULL elements), time,
// uuid, json, numeric with and without a precision, the types that stay
// text, and domains (and arrays of them).
const typesDDL = `
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN price AS numeric(10,2);
CREATE TABLE types (id int PRIMARY KEY, s2 int2, i8 int8, o oid, f4 real, f8 float8, ok boolean, t text, vc varchar(10),
  ch char(3), b bytea, d date, tm time, ts timestamp(3), tstz timestamptz, u uuid, j json, jb jsonb, n10 numeric(10,2),
  n numeric, iv interval, ip inet, r int4range, e mood, tz timetz, p posint,
  ai int[], am int[][], at text[], an numeric(10,2)[], anum numeric[], au uuid[], aj jsonb[], ae mood[], aiv interval[],
  amt text[][], pr price, ap posint[], apr price[])`

const typesRow = `(%d, -32768, 9007199254740993, 4294967295, 1.5, -2.25, true, 'Grüße 🎉', 'short', 'ab', '\x00ff',
  '2024-02-29', '12:34:56.789', '2024-02-29 13:14:15.123', '2024-02-29 13:14:15.123456+02', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"a": [1, 2]}', '{"b": null}', -12.34, 3.14159265358979323846, '1 year 2 mons', '10.0.0.1/8', '[1,5)', 'happy',
  '12:00:00+02', 7, '{1,NULL,3}', '{{1,2},{3,NULL}}', '{x,"y z",NULL,"NULL",""}', '{1.5,NULL}', '{3.14159,NULL}',
  '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}', ARRAY['{"a": 1}'::jsonb, NULL], '{sad,NULL}', '{"1 day",NULL}',
  '{{a,NULL},{"b c",d}}', 9.99, '{1,NULL}', '{1.50,NULL}')`

// TestTypesExportedAsStreamed (issue 17): a table exported to Parquet and
// streamed by a pipeline to Avro gives each column the same logical type
// in both, as the independent readers see them: DuckDB's DESCRIBE of the
// Parquet file and the Avro schema python3-avro reads from the
// pipeline's files (a snapshot part and a change file). Values agree too
// where both formats spell them alike (lists, text, numbers).
func TestTypesExportedAsStreamed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src := testenv.Postgres(t)
	pg := openDB(t, "pgx", src)
	for _, q := range []string{typesDDL, fmt.Sprintf("INSERT INTO types VALUES "+typesRow, 1)} {
		if _, err := pg.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	w.mustCLI("attach", "--db", src, "--endpoint", w.minio.Endpoint)
	contains(t, "export", w.mustCLI("export", "--db", src, "--query", "SELECT * FROM types ORDER BY id", "--format", "parquet",
		"s3://"+w.bucket+"/ex/types"), "SUCCESS")
	duckCols, duckRows := duckdbRead(t, []byte(getObject(t, w, "ex/types.part_00000")))

	inst := "sqlite://" + t.TempDir() + "/i.db"
	w.mustCLI("attach", "--db", inst)
	w.mustCLI("pipeline", "create", "e2e_types", "--db", inst, "--source", src, "--tables", "public.types",
		"--bucket", w.bucket, "--prefix", "cdc/", "--flush-interval", "500ms")
	t.Cleanup(func() {
		// After the agent stopped (cleanups run last first), and not with
		// w.cli: the test's context is over by now. The slot would keep
		// the database from being dropped, and WAL forever.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, binary, "pipeline", "drop", "--db", inst, "e2e_types")
		cmd.Env = w.env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("drop the pipeline: %v: %s", err, out)
		}
	})
	w.agent("--db", inst)
	waitFor(t, "the pipeline to stream", time.Minute, func() bool {
		return strings.Contains(w.mustCLI("pipeline", "show", "--db", inst, "--json", "e2e_types"), `"state":"STREAMING"`)
	})
	if _, err := pg.Exec(fmt.Sprintf("INSERT INTO types VALUES "+typesRow, 2)); err != nil {
		t.Fatal(err)
	}
	store, err := s3store.New(t.Context(), s3store.Config{Endpoint: w.minio.Endpoint, Region: w.minio.Region,
		AccessKeyID: w.minio.AccessKey, SecretAccessKey: w.minio.SecretKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hasChanges := func() bool {
		return slices.ContainsFunc(filecheck.Keys(t, store, w.bucket, "cdc/"), func(k string) bool {
			return strings.Contains(k, "/changes/") && strings.HasSuffix(k, ".avro")
		})
	}
	waitFor(t, "a change file", time.Minute, hasChanges)

	files := filecheck.ReadAll(t, store, w.bucket, "cdc/")
	var snapshot, change *filecheck.File
	for i, f := range files {
		switch {
		case strings.Contains(f.Key, "/snapshot/") && snapshot == nil:
			snapshot = &files[i]
		case strings.Contains(f.Key, "/changes/") && change == nil:
			change = &files[i]
		}
	}
	if snapshot == nil || change == nil || len(snapshot.Records) == 0 || len(change.Records) == 0 {
		t.Fatalf("want a snapshot part and a change file with records, got %d files", len(files))
	}
	for _, f := range []*filecheck.File{snapshot, change} {
		fields := avroFields(t, f.Schema)
		if len(fields) != len(duckCols) {
			t.Fatalf("%s has %d columns, the export %d", f.Key, len(fields), len(duckCols))
		}
		after, _ := f.Records[0]["after"].(map[string]any)
		for i, dc := range duckCols {
			name, duckType, _ := strings.Cut(dc, ":")
			if fields[i].name != name {
				t.Errorf("%s column %d is %s, the export's %s", f.Key, i, fields[i].name, name)
				continue
			}
			want, avroType := logicalOfDuckDB(duckType), logicalOfAvro(fields[i].typ)
			if avroType != want {
				t.Errorf("%s column %s: Avro %s, Parquet %s (DuckDB %s)", f.Key, name, avroType, want, duckType)
			}
			if !comparable[name] {
				continue
			}
			av, pv := canonical(t, after[name], true, duckType == "JSON"), canonical(t, duckRows[0][i], false, false)
			if !reflect.DeepEqual(av, pv) {
				t.Errorf("%s column %s: Avro value %v, Parquet value %v", f.Key, name, av, pv)
			}
		}
	}
}

// comparable are the columns whose values the two readers spell alike:
// integers, text, JSON and lists of them (not id: the change is another
// row). Dates, times, decimals, floats and bytes have a form of their own
// in each reader.
var comparable = map[string]bool{"s2": true, "i8": true, "o": true, "ok": true, "t": true, "vc": true, "ch": true,
	"u": true, "j": true, "jb": true, "n": true, "iv": true, "ip": true, "r": true, "e": true, "tz": true, "p": true,
	"ai": true, "am": true, "at": true, "anum": true, "au": true, "ae": true, "aiv": true, "amt": true, "ap": true}

type avroField struct {
	name string
	typ  any
}

// avroFields returns the fields of the envelope's Value record, with the
// non-null branch of each one's union.
func avroFields(t *testing.T, schema map[string]any) []avroField {
	t.Helper()
	for _, f := range schema["fields"].([]any) {
		f := f.(map[string]any)
		if f["name"] != "before" {
			continue
		}
		value := f["type"].([]any)[1].(map[string]any)
		var out []avroField
		for _, c := range value["fields"].([]any) {
			c := c.(map[string]any)
			out = append(out, avroField{c["name"].(string), c["type"].([]any)[1]})
		}
		return out
	}
	t.Fatalf("no before field in %v", schema)
	return nil
}

// logicalOfAvro names an Avro type's logical type.
func logicalOfAvro(typ any) string {
	switch x := typ.(type) {
	case string:
		return map[string]string{"int": "int32", "long": "int64", "float": "float32", "double": "float64",
			"boolean": "bool", "string": "string", "bytes": "bytes"}[x]
	case map[string]any:
		switch x["type"] {
		case "array":
			return "list<" + logicalOfAvro(x["items"].([]any)[1]) + ">"
		}
		switch lt := x["logicalType"]; lt {
		case "decimal":
			return fmt.Sprintf("decimal(%v,%v)", x["precision"], x["scale"])
		case "time-micros":
			return "time"
		case "local-timestamp-micros":
			return "timestamp"
		case "timestamp-micros":
			return "timestamptz"
		case "date", "uuid":
			return lt.(string)
		}
	}
	return fmt.Sprintf("avro %v", typ)
}

var duckDecimal = regexp.MustCompile(`^DECIMAL\((\d+),(\d+)\)$`)

// logicalOfDuckDB names a DuckDB type's logical type in the words of
// logicalOfAvro. Avro has no 16-bit integer, so SMALLINT is an int; nor a
// JSON type, so JSON is a string.
func logicalOfDuckDB(typ string) string {
	if elem, ok := strings.CutSuffix(typ, "[]"); ok {
		return "list<" + logicalOfDuckDB(elem) + ">"
	}
	if m := duckDecimal.FindStringSubmatch(typ); m != nil {
		return "decimal(" + m[1] + "," + m[2] + ")"
	}
	if l, ok := map[string]string{"SMALLINT": "int32", "INTEGER": "int32", "BIGINT": "int64", "FLOAT": "float32",
		"DOUBLE": "float64", "BOOLEAN": "bool", "VARCHAR": "string", "JSON": "string", "BLOB": "bytes", "DATE": "date",
		"TIME": "time", "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamptz", "UUID": "uuid"}[typ]; ok {
		return l
	}
	return "duckdb " + typ
}

// canonical turns a value as python3-avro printed it (fromAvro) or as
// DuckDB's to_json wrote it (a JSON text) into comparable Go values:
// numbers as their digits, JSON parsed. Avro carries JSON as its text:
// isJSON parses it.
func canonical(t *testing.T, v any, fromAvro, isJSON bool) any {
	t.Helper()
	if s, ok := v.(string); ok && (!fromAvro || isJSON) {
		var x any
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		if err := d.Decode(&x); err != nil {
			t.Fatalf("JSON value %q: %v", s, err)
		}
		return numbers(x)
	}
	return numbers(v)
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = numbers(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = numbers(e)
		}
		return out
	}
	return v
}

// duckdbRead reads a Parquet file with DuckDB (export/testdata's script):
// its columns as name:TYPE and its rows as to_json writes each value.
func duckdbRead(t *testing.T, body []byte) (cols []string, rows [][]any) {
	t.Helper()
	modules := cmp.Or(os.Getenv("S3BRIDGE_DUCKDB_NODE_MODULES"), "/tmp/duckdbnode/node_modules")
	node, err := exec.LookPath("node")
	if _, serr := os.Stat(filepath.Join(modules, "@duckdb", "node-api")); err != nil || serr != nil {
		testenv.Unavailable(t, "DuckDB (@duckdb/node-api, scripts/services.sh ensure_duckdb)", cmp.Or(err, serr))
		return nil, nil
	}
	file := filepath.Join(t.TempDir(), "x.parquet")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, filepath.Join("..", "export", "testdata", "duckdb_read.cjs"), file, "json")
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("DuckDB could not read the file: %v\n%s", err, stderr.String())
	}
	var res struct {
		Columns []struct{ Name, Type string }
		Rows    [][]any
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Columns {
		cols = append(cols, c.Name+":"+c.Type)
	}
	return cols, res.Rows
}
