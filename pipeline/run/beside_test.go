package run

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/internal/filecheck"
	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/pgsource"
	"github.com/s3bridge/s3bridge/pipeline/writer"
)

// churn changes table (id int key, v int) until stop is closed: updates of
// random rows, inserts of new ones, deletes, in small transactions, so that
// a snapshot taken meanwhile meets rows the stream changes too.
func (e *env) churn(table string, stop <-chan struct{}, done *sync.WaitGroup, n *atomic.Int64) {
	done.Go(func() {
		next := 100000
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			next++
			sql := fmt.Sprintf(`BEGIN; UPDATE %[1]s SET v = v + 1 WHERE id = (SELECT id FROM %[1]s ORDER BY random() LIMIT 1);
				INSERT INTO %[1]s VALUES (%[2]d, %[2]d); DELETE FROM %[1]s WHERE id = (SELECT min(id) FROM %[1]s) AND %[3]d %% 3 = 0; COMMIT`,
				table, next, i)
			if _, err := e.db.Exec(context.Background(), sql); err != nil {
				e.t.Errorf("churn: %v", err)
				return
			}
			n.Add(1)
		}
	})
}

// waitSnapshots polls until the checkpoint records the initial snapshot
// and snapshot request seq (0: the initial one only).
func (e *env) waitSnapshots(r *running, seq int64) writer.Checkpoint {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		cp, _ := e.ckpt.Load(e.t.Context())
		if cp.LSN > 0 && !cp.InitialPending && cp.SnapshotsDone >= seq {
			return cp
		}
		select {
		case err := <-r.done:
			r.done <- err
			e.t.Fatalf("Run returned while waiting for snapshot request %d: %v", seq, err)
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("snapshot request %d not done after 60s (done: %d)", seq, cp.SnapshotsDone)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	churnSpec = tableSpec{schema: "public", name: "churned", key: "id", cols: []string{"id", "v"}}
	// items before workC's columns.
	itemsBasic = tableSpec{schema: "public", name: "items", key: "id", cols: []string{"id", "name", "qty", "price"}}
)

// TestSnapshotBesideStream takes a snapshot of a table on demand while its
// rows change: the stream goes on during the copy (changes are checkpointed
// while it runs), and the latest snapshot with the changes at or after its
// LSN is the source table, row for row — where a snapshot row and a
// streamed change meet, the change wins. The earlier snapshot's objects
// stay, also across a restart's recovery, and the manifest lists both.
func TestSnapshotBesideStream(t *testing.T) {
	e := newEnv(t, ddl, `CREATE TABLE churned (id int PRIMARY KEY, v int);
		INSERT INTO churned SELECT g, 0 FROM generate_series(1, 20000) g`)
	cfg := e.config()
	cfg.FlushRows = 5000
	r := e.start(cfg)
	first := e.waitSnapshots(r, 0)
	stop, n := make(chan struct{}), &atomic.Int64{}
	var churning sync.WaitGroup
	e.churn("churned", stop, &churning, n)
	time.Sleep(300 * time.Millisecond)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	// pipeline snapshot, as the agent runs it: the config changed, so the
	// run starts again with the request.
	cfg.Requests = []pipeline.SnapshotRequest{{Seq: 1, Tables: []string{"public.churned"}}}
	r = e.start(cfg)
	before := n.Load()
	cp := e.waitSnapshots(r, 1)
	during := n.Load() - before
	time.Sleep(300 * time.Millisecond)
	close(stop)
	churning.Wait()
	e.waitCheckpoint(r, e.fence())
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d churn transactions while the snapshot ran", during)
	m := cp.Tables["public.churned"]
	if m.Snapshot == first.Tables["public.churned"].Snapshot || len(m.Earlier) != 1 || m.Earlier[0].ID != first.Tables["public.churned"].Snapshot {
		t.Fatalf("churned's marks after the request: %+v (first snapshot %s)", m, first.Tables["public.churned"].Snapshot)
	}
	if other := cp.Tables["public.items"]; other.Snapshot != first.Tables["public.items"].Snapshot || len(other.Earlier) != 0 {
		t.Errorf("items, not requested, has marks %+v", other)
	}
	// A restart recovers: the earlier snapshot's parts stay.
	r = e.start(cfg)
	e.waitCheckpoint(r, e.fence())
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	l := writer.Layout{Prefix: "cdc", Database: e.src.Database()}
	for _, id := range []string{m.Earlier[0].ID, m.Snapshot} {
		if keys := filecheck.Keys(t, e.store, e.bucket, l.SnapshotDir("public", "churned", id)); len(keys) == 0 {
			t.Errorf("snapshot %s has no parts left", id)
		}
	}
	man, _, err := writer.ReadManifest(t.Context(), e.store, e.bucket, l)
	if err != nil {
		t.Fatal(err)
	}
	for _, mt := range man.Tables {
		if mt.Table == "churned" && (len(mt.Snapshots) != 2 || mt.Snapshot != m.Snapshot || mt.Snapshots[1].ID != m.Snapshot) {
			t.Errorf("manifest of churned: %+v", mt)
		}
	}
	e.checkReplay(churnSpec, itemsBasic, otherSpec)
}

// TestAddTable adds a table to a running pipeline: the publication gets it
// when the run starts again, its snapshot (a request) is taken beside the
// stream, and its rows, the ones it held before and the ones changed since,
// are in the files; the changes made before it was added are not (the
// snapshot holds their result).
func TestAddTable(t *testing.T) {
	e := newEnv(t, ddl, `CREATE TABLE churned (id int PRIMARY KEY, v int);
		INSERT INTO churned SELECT g, 0 FROM generate_series(1, 3000) g`)
	cfg := e.config()
	cfg.Publication = pgsource.Publication{Tables: []pgsource.Table{{Schema: "public", Name: "items"}}}
	r := e.start(cfg)
	e.waitCheckpoint(r, 1)
	e.exec(`UPDATE churned SET v = 7 WHERE id <= 100`) // not captured yet
	e.work(workA)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	cfg.Publication.Tables = append(cfg.Publication.Tables, pgsource.Table{Schema: "public", Name: "churned"})
	cfg.Requests = []pipeline.SnapshotRequest{{Seq: 1, Tables: []string{"public.churned"}}}
	r = e.start(cfg)
	stop, n := make(chan struct{}), &atomic.Int64{}
	var churning sync.WaitGroup
	e.churn("churned", stop, &churning, n)
	cp := e.waitSnapshots(r, 1)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	churning.Wait()
	e.waitCheckpoint(r, e.fence())
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if m := cp.Tables["public.churned"]; m.Snapshot == "" || m.Schema == nil {
		t.Fatalf("churned's marks: %+v", m)
	}
	l := writer.Layout{Prefix: "cdc", Database: e.src.Database()}
	if keys := filecheck.Keys(t, e.store, e.bucket, l.TableDir("public", "Other Table")); len(keys) > 0 {
		t.Errorf("a table never added has files: %v", keys)
	}
	e.checkReplay(churnSpec, itemsBasic)
	// The requested table is checked against the publication.
	cfg.Requests = append(cfg.Requests, pipeline.SnapshotRequest{Seq: 2, Tables: []string{"public.Other Table"}})
	r = e.start(cfg)
	err := r.wait(t)
	if err == nil || !slices.ContainsFunc([]string{err.Error()}, func(s string) bool { return len(s) > 0 }) {
		t.Fatalf("a request for a table out of the publication: %v", err)
	}
	t.Logf("as expected: %v", err)
}

// stallingStore fails the upload of keys containing bad after a delay
// (so that the run checkpoints the chunks done meanwhile) and counts the
// snapshot parts it stored, by key.
type stallingStore struct {
	writer.Store
	bad   string
	delay time.Duration
	mu    sync.Mutex
	puts  map[string]int
}

func (s *stallingStore) Upload(ctx context.Context, bucket, key string, r io.Reader, opts s3bridge.PutOptions) (s3bridge.Object, error) {
	if s.bad != "" && strings.Contains(key, s.bad) {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
		}
		return s3bridge.Object{}, fmt.Errorf("upload %s: injected failure", key)
	}
	o, err := s.Store.Upload(ctx, bucket, key, r, opts)
	if err == nil && strings.Contains(key, "/snapshot/") {
		s.mu.Lock()
		s.puts[key]++
		s.mu.Unlock()
	}
	return o, err
}

// TestSnapshotResumesByChunk: the initial snapshot copies a table in
// chunks, two sessions in parallel; a chunk's upload fails after the run
// recorded others, and the next run copies only the chunks left, at a
// later point, while rows keep changing — the files still give the
// source's table exactly. A table whose changes may lack TOASTed values
// (text columns, replica identity DEFAULT) is copied again whole instead.
func TestSnapshotResumesByChunk(t *testing.T) {
	e := newEnv(t, ddl, `CREATE TABLE churned (id int PRIMARY KEY, v int);
		INSERT INTO churned SELECT g, 0 FROM generate_series(1, 40000) g; ANALYZE churned;
		CREATE TABLE notes (id int PRIMARY KEY, body text);
		INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 30000) g; ANALYZE notes`)
	cfg := e.config()
	cfg.FlushRows = 2000 // about 20 chunks
	store := &stallingStore{Store: e.store, bad: "churned/snapshot/", delay: time.Second, puts: map[string]int{}}
	store.bad = "part-00012"
	cfg.Store = store
	err := e.start(cfg).wait(t)
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("Run over a failing chunk: %v", err)
	}
	cp := e.mustLoad()
	partial, notes := cp.Tables["public.churned"].Partial, cp.Tables["public.notes"].Partial
	if !cp.InitialPending || partial == nil || len(partial.Done) < 2 || slices.Contains(partial.Done, 12) {
		t.Fatalf("checkpoint after the failed chunk: pending %t, churned %+v", cp.InitialPending, partial)
	}
	if notes == nil || len(notes.Done) == 0 {
		t.Fatalf("checkpoint after the failed chunk: notes %+v", notes)
	}
	t.Logf("first run: %d of %d chunks recorded", len(partial.Done), partial.Chunks)
	first := map[string]int{}
	store.mu.Lock()
	for k, n := range store.puts {
		first[k] = n
	}
	store.puts = map[string]int{}
	store.mu.Unlock()

	stop, n := make(chan struct{}), &atomic.Int64{}
	var churning sync.WaitGroup
	e.churn("churned", stop, &churning, n)
	time.Sleep(200 * time.Millisecond)
	store.bad = ""
	r := e.start(cfg)
	done := e.waitSnapshots(r, 0)
	close(stop)
	churning.Wait()
	e.waitCheckpoint(r, e.fence())
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	m := done.Tables["public.churned"]
	if m.Snapshot != partial.ID || m.Parts != partial.Chunks || m.Partial != nil {
		t.Fatalf("churned's marks after the resumed copy: %+v, want snapshot %s of %d chunks", m, partial.ID, partial.Chunks)
	}
	l := writer.Layout{Prefix: "cdc", Database: e.src.Database()}
	for _, c := range partial.Done {
		key := l.PartKey("public", "churned", partial.ID, c)
		if store.puts[key] != 0 {
			t.Errorf("chunk %d was recorded done, and copied again (%s)", c, key)
		}
		if first[key] == 0 {
			t.Errorf("chunk %d recorded done but its part %s was never stored", c, key)
		}
	}
	if store.puts[l.PartKey("public", "churned", partial.ID, 12)] != 1 {
		t.Errorf("the failed chunk was not copied by the second run: %v", store.puts)
	}
	// notes has text and replica identity DEFAULT: copied afresh, the
	// parts of its interrupted copy gone.
	if m := done.Tables["public.notes"]; m.Snapshot == "" || m.Snapshot == notes.ID {
		t.Errorf("notes after the second run: %+v, interrupted snapshot %s", m, notes.ID)
	}
	if keys := filecheck.Keys(t, e.store, e.bucket, l.SnapshotDir("public", "notes", notes.ID)); len(keys) > 0 {
		t.Errorf("the interrupted copy of notes left %v", keys)
	}
	e.checkReplay(churnSpec, itemsBasic, otherSpec, tableSpec{schema: "public", name: "notes", key: "id", cols: []string{"id", "body"}})
	if keys := filecheck.Keys(t, e.store, e.bucket, l.TableDir("public", "churned")+"snapshot/"); len(keys) < partial.Chunks {
		t.Errorf("%d parts for %d chunks", len(keys), partial.Chunks)
	}
}

// TestStartAgainAfterSlotLost: a pipeline whose replication slot was
// dropped behind its back stops with an error that says how to start it
// again; once a snapshot of every table is asked for (pipeline snapshot),
// the next run makes a new slot, snapshots every table there and streams
// on — the files, read by the latest snapshot and the changes after it,
// are the source's tables again, the changes in the gap being lost by
// then.
func TestStartAgainAfterSlotLost(t *testing.T) {
	e := newEnv(t, ddl)
	cfg := e.config()
	r := e.start(cfg)
	e.waitSnapshots(r, 0)
	e.work(workA)
	e.waitCheckpoint(r, e.fence())
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if err := e.src.Drop(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.work(workB) // in the gap: no slot holds these
	err := e.start(cfg).wait(t)
	if err == nil || !strings.Contains(err.Error(), "s3bridge pipeline snapshot p1") || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Run after the slot was dropped: %v", err)
	}
	before := e.mustLoad()
	cfg.Requests = []pipeline.SnapshotRequest{{Seq: 1}}
	r = e.start(cfg)
	cp := e.waitSnapshots(r, 1)
	if cp.LSN <= before.LSN || cp.Tables["public.items"].Snapshot == before.Tables["public.items"].Snapshot {
		t.Fatalf("after the new start: checkpoint %s (was %s), items' snapshot %s (was %s)", cp.LSN, before.LSN,
			cp.Tables["public.items"].Snapshot, before.Tables["public.items"].Snapshot)
	}
	e.work(workC)
	e.waitCheckpoint(r, e.fence())
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	e.checkReplay(itemsSpec, otherSpec)
}
