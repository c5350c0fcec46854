package writer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/internal/filecheck"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/s3store"
)

var _ Store = (*s3store.Client)(nil)
var _ uploadAborter = (*s3store.Client)(nil)

func newStore(t *testing.T) (*s3store.Client, string) {
	t.Helper()
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	store, err := s3store.New(t.Context(), s3store.Config{Endpoint: m.Endpoint, Region: m.Region,
		AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey, PartSize: 5 << 20, Concurrency: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return store, bucket
}

// items returns version v of table public.items: id, v, then one int
// column per version after the first.
func items(v int) *pipeline.TableSchema {
	ts := &pipeline.TableSchema{Database: "shop", Schema: "public", Table: "items", Version: v, Columns: []pipeline.Column{
		{Name: "id", Type: pipeline.Type{Kind: pipeline.KindInt64, Name: "int8"}, Nullable: true, Key: true},
		{Name: "v", Type: pipeline.Type{Kind: pipeline.KindString, Name: "text"}, Nullable: true},
	}}
	for i := 2; i <= v; i++ {
		ts.Columns = append(ts.Columns, pipeline.Column{Name: fmt.Sprintf("c%d", i),
			Type: pipeline.Type{Kind: pipeline.KindInt32, Name: "int4"}, Nullable: true})
	}
	return ts
}

func other() *pipeline.TableSchema {
	return &pipeline.TableSchema{Database: "shop", Schema: "sales", Table: "other/x", Version: 1, Columns: []pipeline.Column{
		{Name: "id", Type: pipeline.Type{Kind: pipeline.KindInt64, Name: "int8"}, Nullable: true, Key: true},
		{Name: "v", Type: pipeline.Type{Kind: pipeline.KindString, Name: "text"}, Nullable: true},
	}}
}

// row fills a row of ts with id and "v<id>", and id in every added column.
func row(ts *pipeline.TableSchema, id int64) pipeline.Row {
	r := pipeline.Row{id, fmt.Sprintf("v%d", id)}
	for i := 2; i < len(ts.Columns); i++ {
		r = append(r, int32(id))
	}
	return r
}

// tx is a transaction for tests: commit at lsn, end at lsn+8.
type tx struct {
	lsn     pipeline.LSN
	changes []pipeline.Change
}

func ins(ts *pipeline.TableSchema, id int64) pipeline.Change {
	return pipeline.Change{Op: pipeline.OpCreate, Schema: ts, After: row(ts, id)}
}

func del(ts *pipeline.TableSchema, id int64) pipeline.Change {
	return pipeline.Change{Op: pipeline.OpDelete, Schema: ts, Before: row(ts, id)}
}

func (x tx) apply(t *testing.T, w *Writer) {
	t.Helper()
	ptx := &pipeline.Tx{ID: int64(x.lsn), CommitLSN: x.lsn, BeginLSN: x.lsn - 4, CommitTime: time.Unix(int64(x.lsn), 0).UTC()}
	evs := []pipeline.Event{{Begin: ptx}}
	for i := range x.changes {
		c := x.changes[i]
		c.Source = pipeline.Source{LSN: x.lsn, TxID: ptx.ID, CommitTime: ptx.CommitTime,
			Database: c.Schema.Database, Schema: c.Schema.Schema, Table: c.Schema.Table}
		evs = append(evs, pipeline.Event{Change: &c})
	}
	end := *ptx
	end.EndLSN = x.lsn + 8
	evs = append(evs, pipeline.Event{Commit: &end})
	for _, ev := range evs {
		if err := w.Apply(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestLayout(t *testing.T) {
	l := Layout{Prefix: "p/q/", Database: "shop"}
	for _, tc := range []struct{ got, want string }{
		{l.ChangeKey("public", "items", 0x1_0000_00A0, 0), "p/q/shop/public/items/changes/00000001000000A0.avro"},
		{l.ChangeKey("public", "items", 0x1_0000_00A0, 2), "p/q/shop/public/items/changes/00000001000000A0_v2.avro"},
		{l.PartKey("a/b", "100%", "00000000016B3F28", 7), "p/q/shop/a%2Fb/100%25/snapshot/00000000016B3F28/part-00007.avro"},
		{l.SchemaKey("public", "items", 12), "p/q/shop/public/items/_schemas/v12.avsc"},
		{l.ManifestKey(), "p/q/_pipeline.json"},
		{Layout{Database: "d"}.ManifestKey(), "_pipeline.json"},
		{Layout{Database: "d"}.ChangesDir("s", "t"), "d/s/t/changes/"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	// Names parse back and sort in change order, as keys do.
	names := []string{"0000000000000100.avro", "0000000000000100_v2.avro", "0000000000000100_v10.avro", "0000000000000200.avro"}
	var prev changeName
	for i, n := range names {
		cn, ok := parseChangeName(n)
		if !ok {
			t.Fatalf("parseChangeName(%q) failed", n)
		}
		if i > 0 && !prev.less(cn) {
			t.Errorf("%q does not sort after %q", n, names[i-1])
		}
		prev = cn
	}
	for _, bad := range []string{"00000100.avro", "0000000000000100_v0.avro", "0000000000000100.avsc", "000000000000010G.avro", "0000000000000100_x.avro"} {
		if _, ok := parseChangeName(bad); ok {
			t.Errorf("parseChangeName(%q) accepted", bad)
		}
	}
}

// TestWriterFiles writes transactions over two tables with size cuts and
// schema changes (one inside a transaction) and reads every file back with
// python3-avro: each holds whole transactions of one version, under the
// key of its first commit.
func TestWriterFiles(t *testing.T) {
	store, bucket := newStore(t)
	l := Layout{Prefix: "pl", Database: "shop"}
	w := New(store, Options{Bucket: bucket, Layout: l, Pipeline: "p1", FlushRows: 3, Log: testLog(t)}, Checkpoint{LSN: 0x10})
	v1, v2, v3, v4 := items(1), items(2), items(3), items(4)
	txs := []tx{
		{0x100, []pipeline.Change{ins(v1, 1), ins(v1, 2)}},
		{0x200, []pipeline.Change{ins(v1, 3), ins(v1, 4)}}, // 4 rows: file 0x100 closes
		{0x300, []pipeline.Change{del(v1, 1), ins(other(), 0)}},
		{0x400, []pipeline.Change{ins(v1, 5), ins(v2, 6)}}, // v2 from 0x400
		{0x500, []pipeline.Change{ins(v2, 7), ins(v3, 8)}}, // v3 from 0x500
	}
	for _, x := range txs {
		x.apply(t, w)
	}
	if _, err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A file that starts in the transaction that changes the schema.
	tx{0x600, []pipeline.Change{ins(v3, 9), ins(v4, 10)}}.apply(t, w)
	if !w.Pending() {
		t.Fatal("Pending() = false with open files")
	}
	cp, err := w.Flush(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	keys := filecheck.Keys(t, store, bucket, "pl/")
	want := []string{
		"pl/_pipeline.json",
		"pl/shop/public/items/_schemas/v1.avsc", "pl/shop/public/items/_schemas/v2.avsc",
		"pl/shop/public/items/_schemas/v3.avsc", "pl/shop/public/items/_schemas/v4.avsc",
		"pl/shop/public/items/changes/0000000000000100.avro",
		"pl/shop/public/items/changes/0000000000000300.avro",
		"pl/shop/public/items/changes/0000000000000400.avro",
		"pl/shop/public/items/changes/0000000000000500.avro",
		"pl/shop/public/items/changes/0000000000000600.avro",
		"pl/shop/public/items/changes/0000000000000600_v4.avro",
		"pl/shop/sales/other%2Fx/_schemas/v1.avsc",
		"pl/shop/sales/other%2Fx/changes/0000000000000300.avro",
	}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}
	// What each file holds: op, id and commit LSN of each record.
	wantRecords := map[string][]string{
		"0000000000000100.avro":    {"c 1 @100", "c 2 @100", "c 3 @200", "c 4 @200"},
		"0000000000000300.avro":    {"d 1 @300", "c 5 @400"},
		"0000000000000400.avro":    {"c 6 @400", "c 7 @500"},
		"0000000000000500.avro":    {"c 8 @500"}, // the Flush closed it
		"0000000000000600.avro":    {"c 9 @600"},
		"0000000000000600_v4.avro": {"c 10 @600"},
	}
	for _, f := range filecheck.ReadAll(t, store, bucket, "pl/shop/public/items/") {
		name := f.Key[strings.LastIndexByte(f.Key, '/')+1:]
		var got []string
		for _, r := range f.Records {
			img, _ := r["after"].(map[string]any)
			if img == nil {
				img, _ = r["before"].(map[string]any)
			}
			src := r["source"].(map[string]any)
			lsn, _ := src["lsn"].(json.Number).Int64()
			got = append(got, fmt.Sprintf("%s %v @%x", r["op"], img["id"], lsn))
		}
		if w := wantRecords[name]; !slices.Equal(got, w) {
			t.Errorf("%s: records %v, want %v", name, got, w)
		}
	}
	// 0x500 holds a v3 row: its schema has c3, not c4.
	f := filecheck.Read(t, store, bucket, "pl/shop/public/items/changes/0000000000000500.avro")[0]
	if !strings.Contains(fmt.Sprint(f.Schema), "c3") || strings.Contains(fmt.Sprint(f.Schema), "c4") {
		t.Errorf("0x500 file schema is not v3: %v", f.Schema)
	}
	if cp.LSN != 0x608 {
		t.Errorf("checkpoint LSN %s, want 0/608", cp.LSN)
	}
	m := cp.Tables["public.items"]
	if m.File != "pl/shop/public/items/changes/0000000000000600_v4.avro" || m.FileLSN != 0x600 || m.Schema.Version != 4 {
		t.Errorf("items mark %+v", m)
	}
	if m := cp.Tables["sales.other/x"]; m.File != "pl/shop/sales/other%2Fx/changes/0000000000000300.avro" || m.Schema.Version != 1 {
		t.Errorf("other mark %+v", m)
	}
	man, found, err := ReadManifest(t.Context(), store, bucket, l)
	if err != nil || !found {
		t.Fatalf("manifest: %v %v", found, err)
	}
	if man.Pipeline != "p1" || man.Source.Database != "shop" || man.Format != "avro" || len(man.Tables) != 2 ||
		!slices.Equal(man.Tables[0].Versions, []int{1, 2, 3, 4}) || man.Tables[0].Prefix != "shop/public/items/" {
		t.Errorf("manifest %+v", man)
	}
	if w.Pending() {
		t.Error("Pending() = true right after Flush")
	}
}

// changeSet reads every change file under prefix and returns one
// "table lsn op id" string per record, failing on a duplicate.
func changeSet(t *testing.T, store *s3store.Client, bucket, prefix string) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	for _, f := range filecheck.ReadAll(t, store, bucket, prefix) {
		if !strings.Contains(f.Key, "/changes/") {
			continue
		}
		for _, r := range f.Records {
			img, _ := r["after"].(map[string]any)
			if img == nil {
				img, _ = r["before"].(map[string]any)
			}
			src := r["source"].(map[string]any)
			s := fmt.Sprintf("%s %v %s %v", src["table"], src["lsn"], r["op"], img["id"])
			if seen[s] {
				t.Errorf("change %s twice (again in %s)", s, f.Key)
			}
			seen[s] = true
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// TestRecoverAfterCrash crashes a writer after its files were uploaded but
// before their checkpoint was saved, with a transaction half written; a new
// writer recovers from the saved checkpoint and replays with other cuts:
// the files then hold every change once.
func TestRecoverAfterCrash(t *testing.T) {
	store, bucket := newStore(t)
	l := Layout{Prefix: "crash", Database: "shop"}
	opts := Options{Bucket: bucket, Layout: l, Pipeline: "p", FlushRows: 1, Log: testLog(t)}
	v1, v2 := items(1), items(2)
	history := []tx{
		{0x100, []pipeline.Change{ins(v1, 1), ins(v1, 2)}},
		{0x200, []pipeline.Change{ins(v1, 3), ins(other(), 0)}},
		{0x300, []pipeline.Change{del(v1, 1), ins(v2, 4)}},
		{0x400, []pipeline.Change{ins(v2, 5)}},
		{0x500, []pipeline.Change{ins(v2, 6), ins(other(), 1)}},
	}
	var ckpt Memory
	w1 := New(store, opts, Checkpoint{LSN: 0x10})
	for _, x := range history[:2] {
		x.apply(t, w1)
	}
	cp, err := w1.Flush(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := ckpt.Save(t.Context(), cp); err != nil {
		t.Fatal(err)
	}
	// The crashed attempt: three more transactions uploaded (Flush waits
	// for them) but never saved, then half a transaction.
	for _, x := range history[2:] {
		x.apply(t, w1)
	}
	if _, err := w1.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	half := &pipeline.Tx{ID: 0x600, CommitLSN: 0x600}
	if err := w1.Begin(half); err != nil {
		t.Fatal(err)
	}
	c := ins(v2, 7)
	c.Source.LSN = 0x600
	if err := w1.Change(t.Context(), &c); err != nil {
		t.Fatal(err)
	}
	w1.Abort()
	before := filecheck.Keys(t, store, bucket, "crash/")

	loaded, err := ckpt.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	n, err := Recover(t.Context(), store, bucket, l, loaded, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	after := filecheck.Keys(t, store, bucket, "crash/")
	var gone []string
	for _, k := range before {
		if !slices.Contains(after, k) {
			gone = append(gone, k)
		}
	}
	wantGone := []string{
		"crash/shop/public/items/_schemas/v2.avsc",
		"crash/shop/public/items/changes/0000000000000300.avro",
		"crash/shop/public/items/changes/0000000000000300_v2.avro",
		"crash/shop/public/items/changes/0000000000000400.avro",
		"crash/shop/public/items/changes/0000000000000500.avro",
		"crash/shop/sales/other%2Fx/changes/0000000000000500.avro",
	}
	if !slices.Equal(gone, wantGone) || n != len(wantGone) {
		t.Fatalf("recovery deleted %d: %v\nwant %v", n, gone, wantGone)
	}
	// The replay cuts its files elsewhere (no row limit).
	opts.FlushRows = 1000
	w2 := New(store, opts, loaded)
	for _, x := range history[2:] {
		x.apply(t, w2)
	}
	if _, err := w2.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := changeSet(t, store, bucket, "crash/")
	var want []string
	for _, x := range history {
		for _, c := range x.changes {
			img := c.After
			if img == nil {
				img = c.Before
			}
			want = append(want, fmt.Sprintf("%s %d %s %v", c.Schema.Table, x.lsn, c.Op, img[0]))
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("changes after recovery:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRecoverRefuses: a change file before the checkpoint that no
// checkpoint recorded, or a recorded file that is gone, stops recovery.
func TestRecoverRefuses(t *testing.T) {
	store, bucket := newStore(t)
	l := Layout{Database: "shop"}
	w := New(store, Options{Bucket: bucket, Layout: l, Pipeline: "p"}, Checkpoint{LSN: 0x10})
	tx{0x100, []pipeline.Change{ins(items(1), 1)}}.apply(t, w)
	tx{0x300, []pipeline.Change{ins(items(1), 2)}}.apply(t, w)
	cp, err := w.Flush(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	stray := l.ChangeKey("public", "items", 0x200, 0)
	if _, err := store.Upload(t.Context(), bucket, stray, bytes.NewReader(nil), s3bridge.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Recover(t.Context(), store, bucket, l, cp, nil); err == nil || !strings.Contains(err.Error(), "another writer") {
		t.Errorf("stray file before the checkpoint: err = %v", err)
	}
	// An older checkpoint whose last file is 0x100 takes 0x200 and 0x300
	// for a crashed attempt's: fine. A recorded file that is gone is not.
	if err := store.Delete(t.Context(), bucket, cp.Tables["public.items"].File); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(t.Context(), bucket, stray); err != nil {
		t.Fatal(err)
	}
	if _, err := Recover(t.Context(), store, bucket, l, cp, nil); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("recorded file deleted: err = %v", err)
	}
}

// TestSnapshotParts writes a snapshot in parts of FlushRows rows, and an
// empty table's as one empty part; recovery from a checkpoint that never
// recorded them removes them.
func TestSnapshotParts(t *testing.T) {
	store, bucket := newStore(t)
	l := Layout{Prefix: "s", Database: "shop"}
	w := New(store, Options{Bucket: bucket, Layout: l, Pipeline: "p", FlushRows: 2}, Checkpoint{LSN: 0x50})
	id := SnapshotID(0x50)
	snap := func(ts *pipeline.TableSchema, n int) {
		s, err := w.Snapshot(t.Context(), id, ts)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			c := pipeline.Change{Op: pipeline.OpRead, Schema: ts, After: row(ts, int64(i)),
				Source: pipeline.Source{LSN: 0x50, Database: "shop", Schema: ts.Schema, Table: ts.Table, Snapshot: true}}
			if err := s.Append(t.Context(), &c); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	snap(items(1), 5)
	snap(other(), 0)
	cp, err := w.Flush(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	files := filecheck.ReadAll(t, store, bucket, "s/")
	var got []string
	for _, f := range files {
		got = append(got, fmt.Sprintf("%s:%d", f.Key, len(f.Records)))
	}
	want := []string{
		"s/shop/public/items/snapshot/0000000000000050/part-00000.avro:2",
		"s/shop/public/items/snapshot/0000000000000050/part-00000_1.avro:2",
		"s/shop/public/items/snapshot/0000000000000050/part-00000_2.avro:1",
		"s/shop/sales/other%2Fx/snapshot/0000000000000050/part-00000.avro:0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("parts %v, want %v", got, want)
	}
	if m := cp.Tables["public.items"]; m.Snapshot != id || m.Parts != 1 || m.Schema.Version != 1 || cp.LSN != 0x50 {
		t.Errorf("checkpoint %+v", cp)
	}
	if rec := files[0].Records[0]; rec["op"] != "r" || rec["source"].(map[string]any)["snapshot"] != true {
		t.Errorf("snapshot record %v", rec)
	}
	// Recovery keeps what cp recorded and removes all from a zero one.
	if n, err := Recover(t.Context(), store, bucket, l, cp, nil); err != nil || n != 0 {
		t.Fatalf("Recover(cp) = %d, %v", n, err)
	}
	if n, err := Recover(t.Context(), store, bucket, l, Checkpoint{}, nil); err != nil || n != 6 {
		t.Fatalf("Recover(zero) = %d, %v", n, err)
	}
	if keys := filecheck.Keys(t, store, bucket, "s/shop/"); len(keys) != 0 {
		t.Errorf("left after recovery from zero: %v", keys)
	}
}

// failingStore fails every upload of a key containing bad.
type failingStore struct {
	Store
	bad string
}

func (s failingStore) Upload(ctx context.Context, bucket, key string, r io.Reader, opts s3bridge.PutOptions) (s3bridge.Object, error) {
	if strings.Contains(key, s.bad) {
		io.Copy(io.Discard, io.LimitReader(r, 10))
		return s3bridge.Object{}, fmt.Errorf("injected failure")
	}
	return s.Store.Upload(ctx, bucket, key, r, opts)
}

// TestUploadFailure: a failed upload fails the write that meets it or the
// Flush, never silently.
func TestUploadFailure(t *testing.T) {
	store, bucket := newStore(t)
	w := New(failingStore{store, "/changes/"}, Options{Bucket: bucket, Layout: Layout{Database: "d"}}, Checkpoint{LSN: 1})
	defer w.Abort()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	ptx := &pipeline.Tx{ID: 1, CommitLSN: 0x100, EndLSN: 0x108}
	c := ins(items(1), 1)
	err := w.Begin(ptx)
	if err == nil {
		err = w.Change(ctx, &c)
	}
	if err == nil {
		err = w.Commit(ctx, ptx)
	}
	if err == nil {
		_, err = w.Flush(ctx)
	}
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Errorf("writing over a failed upload: %v", err)
	}
}
