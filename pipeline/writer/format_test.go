package writer

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/internal/cdctest"
	"github.com/s3bridge/s3bridge/internal/filecheck"
	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/s3store"
)

func TestLayoutExt(t *testing.T) {
	l := Layout{Prefix: "p", Database: "shop", Ext: ".jsonl.zst"}
	for _, tc := range []struct{ got, want string }{
		{l.ChangeKey("public", "items", 0xA0, 2), "p/shop/public/items/changes/00000000000000A0_v2.jsonl.zst"},
		{l.PartKey("public", "items", "0000000000000050", 3), "p/shop/public/items/snapshot/0000000000000050/part-00003.jsonl.zst"},
		{l.SchemaKey("public", "items", 1), "p/shop/public/items/_schemas/v1.avsc"},
		{Parquet.Ext(pipeline.CodecZStd), ".parquet"},
		{JSONL.Ext(pipeline.CodecDeflate), ".jsonl.gz"},
		{JSONL.Ext(pipeline.CodecNull), ".jsonl"},
		{JSONL.Ext(""), ".jsonl"},
		{Format("").Ext(pipeline.CodecSnappy), ".avro"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	// Change files of every format parse, and the same LSN sorts alike.
	for _, ext := range []string{".avro", ".parquet", ".jsonl", ".jsonl.gz", ".jsonl.zst"} {
		a, ok1 := parseChangeName("0000000000000100" + ext)
		b, ok2 := parseChangeName("0000000000000100_v2" + ext)
		if !ok1 || !ok2 || !a.less(b) || a.first != 0x100 || b.version != 2 {
			t.Errorf("%s: parsed %+v %v, %+v %v", ext, a, ok1, b, ok2)
		}
	}
	for _, bad := range []string{"0000000000000100.json", "0000000000000100.jsonl.bz2", "0000000000000100.parquet.tmp"} {
		if _, ok := parseChangeName(bad); ok {
			t.Errorf("parseChangeName(%q) accepted", bad)
		}
	}
	if _, err := formatOf("x/0000000000000100.jsonl", pipeline.CodecSnappy); err == nil || !strings.Contains(err.Error(), "snappy") {
		t.Errorf("a JSON Lines file with snappy: %v", err)
	}
	if _, err := formatOf("x/0000000000000100.jsonl", pipeline.CodecZStd); err == nil {
		t.Error("a .jsonl key with the zstd codec accepted")
	}
}

// download copies key into dir under its own name (DuckDB finds a JSON
// Lines file's compression by its extension) and returns the quoted path.
func download(t *testing.T, store *s3store.Client, bucket, key, dir string) string {
	t.Helper()
	rc, _, err := store.Open(t.Context(), bucket, key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, strings.ReplaceAll(key, "/", "_"))
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return cdctest.Quote(p)
}

var formatCases = []struct {
	format Format
	codec  pipeline.Codec
	ext    string
}{
	{Parquet, pipeline.CodecSnappy, ".parquet"},
	{Parquet, pipeline.CodecDeflate, ".parquet"},
	{JSONL, pipeline.CodecZStd, ".jsonl.zst"},
	{JSONL, pipeline.CodecDeflate, ".jsonl.gz"},
	{JSONL, pipeline.CodecNull, ".jsonl"},
}

// writeFormat writes a snapshot (two parts) and transactions (a size cut,
// a schema change inside a transaction) of public.items in format f with
// codec under the prefix "<f>_<codec>", and returns the Writer, the
// checkpoint, the layout, the table's prefix and the keys it must hold.
func writeFormat(t *testing.T, store *s3store.Client, bucket string, f Format, codec pipeline.Codec, ext string) (*Writer, Checkpoint, Layout, string, []string) {
	t.Helper()
	prefix := fmt.Sprintf("%s_%s", f, codec)
	l := Layout{Prefix: prefix, Database: "shop"}
	opts := Options{Bucket: bucket, Layout: l, Pipeline: "p", Format: f, Codec: codec, FlushRows: 3, Log: testLog(t)}
	w := New(store, opts, Checkpoint{LSN: 0x50})
	v1, v2 := items(1), items(2)
	s, err := w.Snapshot(t.Context(), SnapshotID(0x50), v1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range int64(4) {
		c := pipeline.Change{Op: pipeline.OpRead, Schema: v1, After: row(v1, i),
			Source: pipeline.Source{LSN: 0x50, Database: "shop", Schema: "public", Table: "items", Snapshot: true}}
		if err := s.Append(t.Context(), &c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	tx{0x100, []pipeline.Change{ins(v1, 10), ins(v1, 11)}}.apply(t, w)
	tx{0x200, []pipeline.Change{ins(v1, 12), del(v1, 10)}}.apply(t, w) // 4 rows: the file closes
	tx{0x300, []pipeline.Change{ins(v1, 13), ins(v2, 14)}}.apply(t, w) // v2 from 0x300
	cp, err := w.Flush(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	dir := prefix + "/shop/public/items/"
	return w, cp, l, dir, []string{
		dir + "_schemas/v1.avsc", dir + "_schemas/v2.avsc",
		dir + "changes/0000000000000100" + ext,
		dir + "changes/0000000000000300" + ext,
		dir + "changes/0000000000000300_v2" + ext,
		dir + "snapshot/0000000000000050/part-00000" + ext,
		dir + "snapshot/0000000000000050/part-00000_1" + ext,
	}
}

// TestFormatFiles writes a snapshot and transactions as Parquet and JSON
// Lines files of every codec and reads every file with DuckDB: each holds
// whole transactions of one version, under the key of its first commit,
// with the format's extension.
func TestFormatFiles(t *testing.T) {
	store, bucket := newStore(t)
	for _, tc := range formatCases {
		t.Run(string(tc.format)+"_"+string(tc.codec), func(t *testing.T) {
			_, cp, _, dir, want := writeFormat(t, store, bucket, tc.format, tc.codec, tc.ext)
			keys := filecheck.Keys(t, store, bucket, dir)
			if !slices.Equal(keys, want) {
				t.Fatalf("keys:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
			}
			// What DuckDB reads in each file: op, id and commit LSN.
			local := t.TempDir()
			wantRows := map[string]string{
				"part-00000":          "r 0 50 v0, r 1 50 v1, r 2 50 v2",
				"part-00000_1":        "r 3 50 v3",
				"0000000000000100":    "c 10 100 v10, c 11 100 v11, c 12 200 v12, d 10 200 v10",
				"0000000000000300":    "c 13 300 v13",
				"0000000000000300_v2": "c 14 300 v14",
			}
			for _, k := range keys {
				if !strings.HasSuffix(k, tc.ext) {
					continue
				}
				file := download(t, store, bucket, k, local)
				q := `SELECT op || ' ' || coalesce(after.id, before.id) || ' ' || printf('%x', source.lsn)
					|| ' ' || coalesce(after.v, before.v) FROM read_parquet(` + file + `)`
				if tc.format == JSONL {
					// As JSON objects: read_ndjson would type a before
					// that is null on every line as JSON, not a struct.
					q = `SELECT json_extract_string(json, '$.op') || ' ' || coalesce(json_extract_string(json, '$.after.id'), json_extract_string(json, '$.before.id'))
						|| ' ' || printf('%x', CAST(json_extract(json, '$.source.lsn') AS UBIGINT)) || ' '
						|| coalesce(json_extract_string(json, '$.after.v'), json_extract_string(json, '$.before.v')) FROM read_ndjson_objects(` + file + `)`
				}
				_, rows := cdctest.DuckDB(t, q)
				var got []string
				for _, r := range rows {
					got = append(got, fmt.Sprint(r[0]))
				}
				name := strings.TrimSuffix(path.Base(k), tc.ext)
				if g := strings.Join(got, ", "); g != wantRows[name] {
					t.Errorf("%s: DuckDB reads %q, want %q", k, g, wantRows[name])
				}
			}
			if m := cp.Tables["public.items"]; m.File != dir+"changes/0000000000000300_v2"+tc.ext || m.Parts != 1 {
				t.Errorf("checkpoint mark %+v", m)
			}
		})
	}
}

// TestFormatRecover: after a crashed attempt wrote past the checkpoint,
// recovery from it removes that attempt's file and keeps every recorded
// one — snapshot parts included — whatever the format.
func TestFormatRecover(t *testing.T) {
	store, bucket := newStore(t)
	for _, tc := range formatCases {
		t.Run(string(tc.format)+"_"+string(tc.codec), func(t *testing.T) {
			w, cp, l, dir, want := writeFormat(t, store, bucket, tc.format, tc.codec, tc.ext)
			tx{0x400, []pipeline.Change{ins(items(2), 15)}}.apply(t, w)
			if _, err := w.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			n, err := Recover(t.Context(), store, bucket, l, cp, testLog(t))
			if err != nil || n != 1 {
				t.Errorf("Recover(cp) = %d, %v; want the one file after the checkpoint", n, err)
			}
			if got := filecheck.Keys(t, store, bucket, dir); !slices.Equal(got, want) {
				// Recover must parse the part names of every format.
				t.Errorf("after recovery:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
