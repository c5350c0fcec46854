package run

import (
	"errors"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/internal/filecheck"
	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/writer"
)

const ddl = `
CREATE TABLE items (id int PRIMARY KEY, name text, qty int, price numeric(10,2));
CREATE TABLE "Other Table" (k text PRIMARY KEY, v jsonb);
INSERT INTO items SELECT g, 'item ' || g, g % 7, g * 1.25 FROM generate_series(1, 30) g;
INSERT INTO "Other Table" SELECT 'k' || g, jsonb_build_object('g', g) FROM generate_series(1, 5) g`

var (
	itemsSpec = tableSpec{schema: "public", name: "items", key: "id", cols: []string{"id", "name", "qty", "price", "note", "extra"}}
	otherSpec = tableSpec{schema: "public", name: "Other Table", key: "k", cols: []string{"k", "v"}}
)

// The workload, in steps a test runs between its runs.
var (
	workA = []string{
		`INSERT INTO items SELECT g, 'item ' || g, g % 7, g * 1.25 FROM generate_series(31, 60) g`,
		`BEGIN; UPDATE items SET qty = qty + 100 WHERE id <= 10; DELETE FROM items WHERE id BETWEEN 11 AND 15;
		 INSERT INTO "Other Table" VALUES ('k6', '{"in": "tx"}'); COMMIT`,
	}
	workB = []string{
		`UPDATE items SET id = 1000 WHERE id = 20`, // a key change
		`BEGIN; TRUNCATE "Other Table"; INSERT INTO "Other Table" VALUES ('after', '{"x": 1}'); COMMIT`,
		`DELETE FROM items WHERE id = 21`,
	}
	// workC changes the schema twice, once inside a transaction.
	workC = []string{
		`ALTER TABLE items ADD COLUMN note text`,
		`INSERT INTO items (id, name, note) VALUES (61, 'new', 'n61')`,
		`UPDATE items SET note = 'upd' WHERE id = 1`,
		`BEGIN; INSERT INTO items (id, name) VALUES (62, 'v2'); ALTER TABLE items ADD COLUMN extra int;
		 INSERT INTO items (id, name, extra) VALUES (63, 'v3', 63); UPDATE items SET extra = 2 WHERE id = 2; COMMIT`,
	}
)

func (e *env) work(steps []string) {
	e.t.Helper()
	for _, s := range steps {
		e.exec(s)
	}
}

// TestSnapshotThenStream runs a pipeline over a snapshot and a stream of
// inserts, updates (one of a key), deletes, a truncate and two schema
// changes: python3-avro reads every file, and the snapshot with the changes
// applied in commit order is the source table, each change once. The
// stream goes idle at the end: the flush interval alone checkpoints it.
func TestSnapshotThenStream(t *testing.T) {
	e := newEnv(t, ddl)
	r := e.start(e.config())
	e.waitCheckpoint(r, 1)
	e.work(workA)
	e.work(workB)
	e.work(workC)
	fence := e.fence()
	cp := e.waitCheckpoint(r, fence)
	if err := r.stop(t); err != nil {
		t.Fatalf("Run after a clean stop: %v", err)
	}
	e.waitConfirmed(e.mustLoad().LSN)
	e.checkReplay(itemsSpec, otherSpec)

	l := writer.Layout{Prefix: "cdc", Database: e.src.Database()}
	keys := filecheck.Keys(t, e.store, e.bucket, "cdc/")
	for _, want := range []string{"cdc/_pipeline.json", l.SchemaKey("public", "items", 3), l.SchemaKey("public", "Other Table", 1)} {
		if !slices.Contains(keys, want) {
			t.Errorf("no %s among %v", want, keys)
		}
	}
	if slices.Contains(keys, l.SchemaKey("public", "items", 4)) || slices.Contains(keys, l.SchemaKey("public", "Other Table", 2)) {
		t.Errorf("a schema version too many: %v", keys)
	}
	// items' 30 rows are one chunk, in two parts of FlushRows rows.
	if m := cp.Tables["public.items"]; m.Schema == nil || m.Schema.Version != 3 || m.Snapshot == "" || m.Parts != 1 || m.File == "" {
		t.Errorf("items checkpoint mark %+v", m)
	}
	// Each change file holds one version: only v3 files have extra.
	files := filecheck.ReadAll(t, e.store, e.bucket, l.ChangesDir("public", "items"))
	for _, f := range files {
		for _, r := range f.Records {
			after, _ := r["after"].(map[string]any)
			if after == nil {
				continue
			}
			_, hasExtra := after["extra"]
			if id := text(after["id"]); (id == "63") != (hasExtra && text(after["extra"]) == "63") {
				t.Errorf("%s: row %s, extra present %t", f.Key, id, hasExtra)
			}
		}
	}
}

func (e *env) mustLoad() writer.Checkpoint {
	e.t.Helper()
	cp, err := e.ckpt.Load(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return cp
}

// changeKeysFrom lists the change files keyed at or after lsn.
func (e *env) changeKeysFrom(lsn pipeline.LSN) []string {
	e.t.Helper()
	var out []string
	for _, k := range filecheck.Keys(e.t, e.store, e.bucket, "cdc/") {
		if strings.Contains(k, "/changes/") && strings.ToUpper(path.Base(k)[:16]) >= lsn.Hex() {
			out = append(out, k)
		}
	}
	return out
}

// TestCrashesLoseAndRepeatNothing crashes the pipeline at the points that
// matter and restarts it each time: mid-snapshot (an upload fails: the
// next run copies the tables left, beside the stream), after
// files were uploaded but before their checkpoint was saved, and between
// the save and the confirm to the slot, with changes committed while it is
// down. In the end the files hold the source's history exactly once.
func TestCrashesLoseAndRepeatNothing(t *testing.T) {
	e := newEnv(t, ddl)

	// 1. The second part of a snapshot fails to upload.
	cfg := e.config()
	cfg.Store = failingStore{e.store, "items/snapshot/"}
	if err := e.start(cfg).wait(t); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("Run over a failing snapshot upload: %v", err)
	}
	if cp := e.mustLoad(); cp.LSN == 0 || !cp.InitialPending {
		t.Fatalf("checkpoint %+v after a failed initial snapshot: want the slot's, with the snapshot pending", cp)
	}
	e.exec(`INSERT INTO items VALUES (100, 'between starts', 1, 1)`)

	// 2. The next run deletes the snapshot parts left, copies the tables
	// again beside the stream, then crashes at its next checkpoint, its
	// change files uploaded.
	crash := &crashingCheckpointer{Memory: e.ckpt, failAt: 2}
	cfg = e.config()
	cfg.Checkpointer = crash
	r := e.start(cfg)
	e.waitSnapshots(r, 0)
	snapCP := e.mustLoad()
	e.work(workA)
	if err := r.wait(t); !errors.Is(err, errCrash) {
		t.Fatalf("Run 2: %v", err)
	}
	if cp := e.mustLoad(); cp.LSN != snapCP.LSN {
		t.Fatalf("checkpoint moved to %s past a failed save", cp.LSN)
	}
	if left := e.changeKeysFrom(snapCP.LSN); len(left) == 0 {
		t.Fatal("the crashed run left no uploaded change file to recover from")
	}
	e.work(workB)

	// 3. A run that saves its checkpoint and dies before confirming it.
	crash = &crashingCheckpointer{Memory: e.ckpt, failAt: 1, afterSave: true}
	cfg.Checkpointer = crash
	if err := e.start(cfg).wait(t); !errors.Is(err, errCrash) {
		t.Fatalf("Run 3: %v", err)
	}
	saved := e.mustLoad()
	if saved.LSN <= snapCP.LSN {
		t.Fatalf("run 3 saved no checkpoint past %s", snapCP.LSN)
	}
	st, err := e.src.State(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.ConfirmedFlush >= saved.LSN {
		t.Fatalf("slot confirmed %s, at or past the checkpoint %s saved by a run that died before confirming", st.ConfirmedFlush, saved.LSN)
	}
	e.work(workC)

	// 4. A run that goes on to the end.
	r = e.start(e.config())
	fence := e.fence()
	e.waitCheckpoint(r, fence)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	e.checkReplay(itemsSpec, otherSpec)
	var parts []string
	for _, k := range filecheck.Keys(t, e.store, e.bucket, "cdc/") {
		if strings.Contains(k, "/snapshot/") {
			parts = append(parts, k)
		}
	}
	// One snapshot per table survives: items' 31 rows in 2 parts, Other's 5 in 1.
	if len(parts) != 3 {
		t.Errorf("snapshot parts %v", parts)
	}
}

// TestIdleFlush: a file closes on the flush interval while nothing else
// happens, and the checkpoint and slot follow.
func TestIdleFlush(t *testing.T) {
	e := newEnv(t, ddl)
	cfg := e.config()
	cfg.Snapshot = SnapshotNever
	cfg.FlushRows = 1 << 20
	r := e.start(cfg)
	start := e.waitCheckpoint(r, 1)
	e.exec(`INSERT INTO items VALUES (500, 'idle', 1, 1)`)
	l := writer.Layout{Prefix: "cdc", Database: e.src.Database()}
	var cp writer.Checkpoint
	for cp.Tables["public.items"].File == "" {
		cp = e.waitCheckpoint(r, start.LSN+1)
	}
	files := filecheck.ReadAll(t, e.store, e.bucket, l.ChangesDir("public", "items"))
	if len(files) != 1 || len(files[0].Records) != 1 || text(files[0].Records[0]["after"].(map[string]any)["id"]) != "500" {
		t.Fatalf("files %+v", files)
	}
	if parts := filecheck.Keys(t, e.store, e.bucket, "cdc/"+e.src.Database()+"/public/items/snapshot/"); len(parts) != 0 {
		t.Errorf("snapshot parts with --snapshot never: %v", parts)
	}
	e.waitConfirmed(cp.LSN)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
}
