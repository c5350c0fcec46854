package pgsource

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/s3bridge/s3bridge/format/avro"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/pipeline"
)

// TestPostgresToAvroReadByPython carries a row of every type from a real
// PostgreSQL insert through the stream and the Avro writer into
// python3-avro, the independent reader.
func TestPostgresToAvroReadByPython(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import avro.datafile").Run(); err != nil {
		testenv.Unavailable(t, "python3-avro", err)
	}
	e := newEnv(t, allTypesDDL)
	slot := e.create(Publication{Tables: []Table{{Schema: "public", Name: "All Types"}}})
	e.exec(allTypesInsert)
	st := e.stream(StreamOptions{Start: slot.ConsistentPoint})
	tx, _ := readTx(t, st)
	path := filepath.Join(t.TempDir(), "all.avro")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := avro.NewWriter(f, tx.Changes[0].Schema, avro.Options{Codec: pipeline.CodecZStd})
	if err != nil {
		t.Fatal(err)
	}
	// Row 1 only: python's datetime cannot hold row 2's infinities.
	if err := w.Append(&tx.Changes[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command(python, "../../format/avro/testdata/read_avro.py", path).Output()
	if err != nil {
		t.Fatalf("python3-avro: %v", err)
	}
	lines := splitLines(out)
	if len(lines) != 2 {
		t.Fatalf("python printed %d lines", len(lines))
	}
	var rec struct {
		After map[string]any `json:"after"`
	}
	if err := json.Unmarshal(lines[1], &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id": 1.0, "s2": -32768.0, "i4": 2147483647.0, "price": "-12.34", "num": "NaN", "f4": 1.5, "f8": "-Infinity",
		"ok": true, "t": "Grüße 日本 🎉", "vc": "short", "ch": "ab ", "raw": "hex:0001ff", "day": "1969-07-20",
		"tod": "13:14:15.123456", "ts": -2208988799999999.0, "tstz": "1969-07-20T20:17:40.999999+00:00",
		"u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "j": `{"a": [1, 2]}`, "jb": `{"a": [1, 2], "ü": null}`,
		"m": "happy", "addr": "192.168.0.1", "ints": []any{1.0, nil, -3.0}, "tags": []any{"x,y", `q"uote`, nil, "NULL"},
		"prices": []any{"-0.5", nil}, "moods": []any{"sad", "happy"}, "p": 7.0, "grid": []any{[]any{1.0, 2.0}, []any{3.0, 4.0}},
	}
	for k, v := range want {
		if !reflect.DeepEqual(rec.After[k], v) {
			t.Errorf("%s = %#v, want %#v", k, rec.After[k], v)
		}
	}
	if len(rec.After) != len(want) {
		t.Errorf("after has %d fields, want %d", len(rec.After), len(want))
	}
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		out = append(out, b[:i])
		if i < len(b) {
			i++
		}
		b = b[i:]
	}
	return out
}
