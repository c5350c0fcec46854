package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/internal/filecheck"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/pgsource"
	"github.com/s3bridge/s3bridge/pipeline/writer"
	"github.com/s3bridge/s3bridge/s3store"
)

// env is one test's private database, bucket and pipeline.
type env struct {
	t      *testing.T
	url    string // the source database
	db     *pgx.Conn
	src    *pgsource.Source
	store  *s3store.Client
	bucket string
	ckpt   *writer.Memory
}

func newEnv(t *testing.T, ddl ...string) *env {
	t.Helper()
	url := testenv.Postgres(t)
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	store, err := s3store.New(t.Context(), s3store.Config{Endpoint: m.Endpoint, Region: m.Region,
		AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey, PartSize: 5 << 20, Concurrency: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err := pgsource.New(url, testenv.Name("p"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := src.Drop(ctx); err != nil {
			t.Errorf("drop slot %s: %v", src.SlotName(), err)
		}
		db.Close(ctx)
	})
	e := &env{t: t, url: url, db: db, src: src, store: store, bucket: bucket, ckpt: &writer.Memory{}}
	for _, s := range ddl {
		e.exec(s)
	}
	return e
}

func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.db.Exec(e.t.Context(), sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

func (e *env) config() Config {
	return Config{Name: "p1", Source: Postgres(e.src), Store: e.store, Bucket: e.bucket, Prefix: "cdc",
		Publication: pgsource.Publication{AllTables: true}, Checkpointer: e.ckpt,
		FlushRows: 20, FlushInterval: 300 * time.Millisecond, StatusInterval: time.Second,
		Log: slog.New(slog.NewTextHandler(testWriter{e.t}, nil))}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// running is a Run in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func (e *env) start(cfg Config) *running {
	e.t.Helper()
	p, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// wait waits for the Run to return by itself.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// stop cancels the Run and returns its result.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t)
}

// fence writes a non-transactional message and returns its LSN: once the
// checkpoint reaches it, every change committed before is durable.
func (e *env) fence() pipeline.LSN {
	e.t.Helper()
	var s string
	if err := e.db.QueryRow(e.t.Context(), `SELECT pg_logical_emit_message(false, 'test', 'fence')::text`).Scan(&s); err != nil {
		e.t.Fatal(err)
	}
	lsn, err := pipeline.ParseLSN(s)
	if err != nil {
		e.t.Fatal(err)
	}
	return lsn
}

// waitCheckpoint polls until the saved checkpoint is at least lsn (a Run
// that returns meanwhile fails the test).
func (e *env) waitCheckpoint(r *running, lsn pipeline.LSN) writer.Checkpoint {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		cp, _ := e.ckpt.Load(e.t.Context())
		if cp.LSN >= lsn {
			return cp
		}
		select {
		case err := <-r.done:
			r.done <- err
			e.t.Fatalf("Run returned while waiting for checkpoint %s: %v", lsn, err)
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("checkpoint at %s, want %s", cp.LSN, lsn)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitConfirmed polls until the slot's confirmed_flush_lsn is lsn.
func (e *env) waitConfirmed(lsn pipeline.LSN) {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := e.src.State(e.t.Context())
		if err != nil {
			e.t.Fatal(err)
		}
		if st.ConfirmedFlush == lsn {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("confirmed_flush_lsn %s, want %s", st.ConfirmedFlush, lsn)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// text renders a value python3-avro printed (or SQL text) for comparison.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case json.Number:
		return x.String()
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// tableSpec says how to compare a table: its key column and the SQL that
// renders a row as text in the order of cols.
type tableSpec struct {
	schema, name string
	key          string
	cols         []string
}

// replayed rebuilds the table from the files under the pipeline's prefix,
// the way docs/pipelines.md tells a reader to: its latest snapshot's rows,
// then its changes committed at or after that snapshot's LSN, in key (=
// commit) order. It fails the test when a (lsn, op, key) appears twice.
func (e *env) replayed(spec tableSpec, seen map[string]bool) map[string]string {
	e.t.Helper()
	l := writer.Layout{Prefix: "cdc", Database: e.src.Database()}
	m, found, err := writer.ReadManifest(e.t.Context(), e.store, e.bucket, l)
	if err != nil || !found {
		e.t.Fatalf("manifest: found %t, %v", found, err)
	}
	snapshot := ""
	for _, mt := range m.Tables {
		if mt.Schema == spec.schema && mt.Table == spec.name {
			snapshot = mt.Snapshot
		}
	}
	var from uint64
	if snapshot != "" {
		var err error
		if from, err = strconv.ParseUint(snapshot, 16, 64); err != nil {
			e.t.Fatalf("snapshot id %q: %v", snapshot, err)
		}
	}
	state := map[string]string{}
	render := func(img map[string]any) string {
		var parts []string
		for _, c := range spec.cols {
			parts = append(parts, text(img[c]))
		}
		return strings.Join(parts, "|")
	}
	if snapshot != "" {
		for _, f := range filecheck.ReadAll(e.t, e.store, e.bucket, l.SnapshotDir(spec.schema, spec.name, snapshot)) {
			for _, r := range f.Records {
				img := r["after"].(map[string]any)
				state[text(img[spec.key])] = render(img)
			}
		}
	}
	for _, f := range filecheck.ReadAll(e.t, e.store, e.bucket, l.ChangesDir(spec.schema, spec.name)) {
		for _, r := range f.Records {
			src := r["source"].(map[string]any)
			before, _ := r["before"].(map[string]any)
			after, _ := r["after"].(map[string]any)
			var key string
			switch r["op"] {
			case "c", "u":
				key = text(after[spec.key])
			case "d":
				key = text(before[spec.key])
			}
			id := fmt.Sprintf("%s %v %s %s", spec.name, src["lsn"], r["op"], key)
			if seen[id] {
				e.t.Errorf("change %s twice (again in %s)", id, f.Key)
			}
			seen[id] = true
			if lsn, err := strconv.ParseUint(text(src["lsn"]), 10, 64); err != nil {
				e.t.Fatalf("%s: lsn %v: %v", f.Key, src["lsn"], err)
			} else if lsn < from {
				continue // before the snapshot, which holds it
			}
			switch r["op"] {
			case "c":
				state[key] = render(after)
			case "u":
				if before != nil {
					delete(state, text(before[spec.key]))
				}
				state[key] = render(after)
			case "d":
				delete(state, key)
			case "t":
				clear(state)
			default:
				e.t.Errorf("op %v in change file %s", r["op"], f.Key)
			}
		}
	}
	return state
}

// source reads the table as the replay renders it.
func (e *env) source(spec tableSpec) map[string]string {
	e.t.Helper()
	cols := make([]string, len(spec.cols))
	for i, c := range spec.cols {
		cols[i] = "coalesce(" + pgx.Identifier{c}.Sanitize() + "::text, 'NULL')"
	}
	rows, err := e.db.Query(e.t.Context(), "SELECT "+pgx.Identifier{spec.key}.Sanitize()+"::text, "+
		strings.Join(cols, " || '|' || ")+" FROM "+pgx.Identifier{spec.schema, spec.name}.Sanitize())
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			e.t.Fatal(err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// checkReplay compares every table rebuilt from the files with the source.
func (e *env) checkReplay(specs ...tableSpec) {
	e.t.Helper()
	seen := map[string]bool{}
	for _, spec := range specs {
		got, want := e.replayed(spec, seen), e.source(spec)
		if len(got) != len(want) {
			e.t.Errorf("%s: %d rows from the files, %d in the source", spec.name, len(got), len(want))
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range want {
				if !yield(k) {
					return
				}
			}
		})
		for _, k := range keys {
			if got[k] != want[k] {
				e.t.Errorf("%s key %s: files %q, source %q", spec.name, k, got[k], want[k])
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				e.t.Errorf("%s key %s: in the files (%q), not in the source", spec.name, k, got[k])
			}
		}
	}
}

// crashingCheckpointer stores into a Memory but "crashes" at its failAt-th
// Save: before storing (files uploaded, no checkpoint), or after (the
// checkpoint stored, the slot never confirmed).
type crashingCheckpointer struct {
	*writer.Memory
	mu        sync.Mutex
	saves     int
	failAt    int
	afterSave bool
}

var errCrash = errors.New("simulated crash")

func (c *crashingCheckpointer) Save(ctx context.Context, cp writer.Checkpoint) error {
	c.mu.Lock()
	c.saves++
	n := c.saves
	c.mu.Unlock()
	if n == c.failAt {
		if c.afterSave {
			if err := c.Memory.Save(ctx, cp); err != nil {
				return err
			}
		}
		return errCrash
	}
	return c.Memory.Save(ctx, cp)
}

// failingStore fails the uploads of keys containing bad.
type failingStore struct {
	writer.Store
	bad string
}

func (s failingStore) Upload(ctx context.Context, bucket, key string, r io.Reader, opts s3bridge.PutOptions) (s3bridge.Object, error) {
	if strings.Contains(key, s.bad) {
		return s3bridge.Object{}, fmt.Errorf("upload %s: injected failure", key)
	}
	return s.Store.Upload(ctx, bucket, key, r, opts)
}
