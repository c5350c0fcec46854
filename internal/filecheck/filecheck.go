// Package filecheck reads a pipeline's objects back for tests, with an
// independent Avro reader: Debian's python3-avro, through
// format/avro/testdata/read_avro.py.
package filecheck

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// Python is Debian's interpreter with python3-avro (not a pyenv shim).
const Python = "/usr/bin/python3"

// Store is what the reader needs of an object store (*s3store.Client).
type Store interface {
	List(ctx context.Context, bucket, prefix, delimiter string) ([]s3bridge.Object, []string, error)
	Open(ctx context.Context, bucket, key string) (io.ReadCloser, s3bridge.Object, error)
}

// File is one Avro file as python3-avro read it.
type File struct {
	Key     string
	Codec   string
	Schema  map[string]any
	Records []map[string]any
}

func script() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..", "format", "avro", "testdata", "read_avro.py")
}

// manyScript runs read_avro.py on each file in one interpreter (its
// start-up dominates the cost of small files), each file's output after a
// {"file": ...} line.
const manyScript = `
import json, runpy, sys
script = sys.argv[1]
for f in sys.argv[2:]:
    print(json.dumps({"file": f}), flush=True)
    sys.argv = [script, f]
    runpy.run_path(script)
    sys.stdout.flush()
`

// ReadFiles reads local Avro files with python3-avro, by path; numbers stay
// json.Number so 64-bit values compare exactly.
func ReadFiles(t testing.TB, paths ...string) map[string]File {
	t.Helper()
	if err := exec.Command(Python, "-c", "import avro.datafile").Run(); err != nil {
		testenv.Unavailable(t, "python3-avro at "+Python+" (scripts/services.sh ensure_avro_reader)", err)
	}
	files := map[string]File{}
	if len(paths) == 0 {
		return files
	}
	cmd := exec.Command(Python, append([]string{"-c", manyScript, script()}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3-avro read %v: %v\n%s", paths, err, stderr.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	var cur *File
	var path string
	for sc.Scan() {
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber()
		var v map[string]any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("python output %q: %v", sc.Text(), err)
		}
		if p, ok := v["file"].(string); ok && len(v) == 1 {
			if cur != nil {
				files[path] = *cur
			}
			cur, path = &File{}, p
			continue
		}
		if cur == nil {
			t.Fatalf("python output %q before a file line", sc.Text())
		}
		if cur.Schema == nil {
			cur.Codec, _ = v["codec"].(string)
			cur.Schema, _ = v["schema"].(map[string]any)
			continue
		}
		cur.Records = append(cur.Records, v)
	}
	if cur != nil {
		files[path] = *cur
	}
	return files
}

// download copies an object into dir and returns the local path.
func download(t testing.TB, store Store, bucket, key, dir string) string {
	t.Helper()
	rc, _, err := store.Open(t.Context(), bucket, key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer rc.Close()
	w, err := os.CreateTemp(dir, "*.avro")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, rc); err != nil {
		t.Fatalf("download %s: %v", key, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Name()
}

// Read downloads the objects and reads them with python3-avro, in the
// order of keys.
func Read(t testing.TB, store Store, bucket string, keys ...string) []File {
	t.Helper()
	dir := t.TempDir()
	paths := make([]string, len(keys))
	for i, k := range keys {
		paths[i] = download(t, store, bucket, k, dir)
	}
	byPath := ReadFiles(t, paths...)
	out := make([]File, len(keys))
	for i, k := range keys {
		f, ok := byPath[paths[i]]
		if !ok {
			t.Fatalf("python3-avro printed nothing for %s", k)
		}
		f.Key = k
		out[i] = f
	}
	return out
}

// Keys lists the keys under prefix, sorted.
func Keys(t testing.TB, store Store, bucket, prefix string) []string {
	t.Helper()
	objs, _, err := store.List(t.Context(), bucket, prefix, "")
	if err != nil {
		t.Fatalf("list %s: %v", prefix, err)
	}
	keys := make([]string, 0, len(objs))
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	slices.Sort(keys)
	return keys
}

// ReadAll reads every .avro object under prefix, in key order.
func ReadAll(t testing.TB, store Store, bucket, prefix string) []File {
	t.Helper()
	var keys []string
	for _, k := range Keys(t, store, bucket, prefix) {
		if filepath.Ext(k) == ".avro" {
			keys = append(keys, k)
		}
	}
	return Read(t, store, bucket, keys...)
}
