package avro

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/cdctest"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/pipeline"
)

// python is Debian's interpreter with python3-avro (not a pyenv shim).
const python = "/usr/bin/python3"

// readWithPython reads file with python3-avro and returns the file's codec,
// its embedded schema and its records, in the forms read_avro.py prints.
func readWithPython(t *testing.T, file, readerSchema string) (codec string, schema any, records []any) {
	t.Helper()
	if err := exec.Command(python, "-c", "import avro.datafile").Run(); err != nil {
		testenv.Unavailable(t, "python3-avro at "+python+" (scripts/services.sh ensure_avro_reader)", err)
	}
	args := []string{filepath.Join("testdata", "read_avro.py"), file}
	if readerSchema != "" {
		args = append(args, readerSchema)
	}
	cmd := exec.Command(python, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3-avro read %s: %v\n%s", file, err, stderr.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	first := true
	for sc.Scan() {
		v, err := decodeJSON(sc.Bytes())
		if err != nil {
			t.Fatalf("python output %q: %v", sc.Text(), err)
		}
		if first {
			m := v.(map[string]any)
			codec, schema, first = m["codec"].(string), m["schema"], false
			continue
		}
		records = append(records, v)
	}
	return codec, schema, records
}

// decodeJSON keeps numbers as written so 64-bit integers compare exactly.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

func writeFile(t *testing.T, ts *pipeline.TableSchema, changes []pipeline.Change, opts Options) string {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return wrote }
	}
	return cdctest.WriteFile(t, "f.avro", changes, func(w io.Writer) (cdctest.Writer, error) { return NewWriter(w, ts, opts) })
}

// TestPythonReadsEveryType is the oracle test: a file of every type, every
// op, NULLs, negative decimals, NaN, pre-1970 times, arrays and unicode,
// written with each codec and read back by python3-avro.
func TestPythonReadsEveryType(t *testing.T) {
	ts := allTypes()
	wantAny, err := decodeJSON([]byte(wantJSON))
	if err != nil {
		t.Fatal(err)
	}
	want := wantAny.([]any)
	js, err := SchemaJSON(ts)
	if err != nil {
		t.Fatal(err)
	}
	wantSchema, err := decodeJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		codec     pipeline.Codec
		wantCodec string
	}{{pipeline.CodecNull, "null"}, {pipeline.CodecDeflate, "deflate"}, {pipeline.CodecSnappy, "snappy"}, {pipeline.CodecZStd, "zstandard"}} {
		t.Run(string(tt.codec), func(t *testing.T) {
			// A tiny block size so the file has many blocks.
			path := writeFile(t, ts, allTypesChanges(ts), Options{Codec: tt.codec, BlockSize: 100})
			codec, schema, got := readWithPython(t, path, "")
			if codec != tt.wantCodec {
				t.Errorf("codec = %q, want %q", codec, tt.wantCodec)
			}
			if !reflect.DeepEqual(schema, wantSchema) {
				t.Errorf("embedded schema differs from SchemaJSON")
			}
			if len(got) != len(want) {
				t.Fatalf("python read %d records, want %d", len(got), len(want))
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					g, _ := json.Marshal(got[i])
					w, _ := json.Marshal(want[i])
					t.Errorf("record %d:\n got %s\nwant %s", i, g, w)
				}
			}
		})
	}
}

// TestPythonReadsOldVersionWithNewSchema checks the promise that each
// schema version reads the files of earlier versions: a v1 file read by
// python3-avro with the v2 schema (a column added) as reader schema gives
// null for the new column.
func TestPythonReadsOldVersionWithNewSchema(t *testing.T) {
	v1 := &pipeline.TableSchema{Database: "d", Schema: "s", Table: "t", Version: 1, Columns: []pipeline.Column{
		{Name: "id", Type: pipeline.Type{Kind: pipeline.KindInt32, Name: "int4"}, Key: true},
		{Name: "name", Type: pipeline.Type{Kind: pipeline.KindString, Name: "text"}, Nullable: true},
	}}
	v2 := *v1
	v2.Version = 2
	v2.Columns = append(append([]pipeline.Column(nil), v1.Columns...),
		pipeline.Column{Name: "amount", Type: pipeline.Type{Kind: pipeline.KindDecimal, Precision: 8, Scale: 3, Name: "numeric(8,3)"}, Nullable: true})
	path := writeFile(t, v1, []pipeline.Change{{
		Op: pipeline.OpCreate, Schema: v1, After: pipeline.Row{int32(7), "x"},
		Source: pipeline.Source{LSN: 5, TxID: 9, CommitTime: commit, Database: "d", Schema: "s", Table: "t"},
	}}, Options{Codec: pipeline.CodecDeflate})
	js2, err := SchemaJSON(&v2)
	if err != nil {
		t.Fatal(err)
	}
	avsc := filepath.Join(t.TempDir(), "v2.avsc")
	if err := os.WriteFile(avsc, js2, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, got := readWithPython(t, path, avsc)
	if len(got) != 1 {
		t.Fatalf("got %d records", len(got))
	}
	after := got[0].(map[string]any)["after"]
	want := map[string]any{"id": json.Number("7"), "name": "x", "amount": nil}
	if !reflect.DeepEqual(after, want) {
		t.Errorf("after = %v, want %v", after, want)
	}
}

func TestSchemaJSONNames(t *testing.T) {
	js, err := SchemaJSON(allTypes())
	if err != nil {
		t.Fatal(err)
	}
	s := string(js)
	for _, want := range []string{
		`"namespace": "s3bridge.shop.public.all_types"`,
		`"name": "Gr____e__"`, `"source_name": "Größe %"`, `"source_type": "public.mood"`,
		`"logicalType": "local-timestamp-micros"`, `"logicalType": "uuid"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("schema lacks %s", want)
		}
	}
	// Colliding sanitized names get suffixes.
	cols := []pipeline.Column{{Name: "a b"}, {Name: "a_b"}, {Name: "a-b"}}
	if got, want := fieldNames(cols), []string{"a_b", "a_b_2", "a_b_3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("fieldNames = %v, want %v", got, want)
	}
}
