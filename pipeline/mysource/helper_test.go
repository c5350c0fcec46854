package mysource

import (
	"bytes"
	"context"
	"database/sql"
	"math/big"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/pipeline"
)

// env is one test's private database on the binlog MariaDB
// (S3BRIDGE_TEST_MARIADB) and an SQL connection to it.
type env struct {
	t    *testing.T
	url  string // the source URL, with a server_id of the test's own
	name string // the database
	db   *sql.DB
}

// newEnv creates a private database (testenv.BinlogSource) and runs ddl
// in it.
func newEnv(t *testing.T, ddl ...string) *env {
	t.Helper()
	e := &env{t: t}
	e.url, e.name, e.db = testenv.BinlogSource(t)
	for _, s := range ddl {
		e.exec(s)
	}
	return e
}

func (e *env) exec(q string, args ...any) {
	e.t.Helper()
	if _, err := e.db.ExecContext(e.t.Context(), q, args...); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
}

// table names a table of the env's database.
func (e *env) table(name string) Table { return Table{Schema: e.name, Name: name} }

// source returns a Source of pipeline "p" capturing tables of the env's
// database.
func (e *env) source(tables ...string) *Source {
	e.t.Helper()
	pub := Publication{}
	for _, n := range tables {
		pub.Tables = append(pub.Tables, e.table(n))
	}
	s, err := New(e.url, "p", pub)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// stream starts a stream and closes it at cleanup.
func stream(t *testing.T, s *Source, opts StreamOptions) *Stream {
	t.Helper()
	st, err := s.Stream(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	return st
}

// changes reads events until n changes have come and the transaction of
// the last is committed, and returns the changes and the committed
// transactions that had changes.
func changes(t *testing.T, st *Stream, n int) ([]pipeline.Change, []*pipeline.Tx) {
	t.Helper()
	var cs []pipeline.Change
	var txs []*pipeline.Tx
	readUntil(t, st, func(tx *pipeline.Tx) bool {
		if len(tx.Changes) > 0 {
			cs = append(cs, tx.Changes...)
			txs = append(txs, tx)
		}
		return len(cs) >= n
	})
	return cs, txs
}

// readUntil reads transactions (pipeline.ReadTx) until done says so (or
// 60s pass: a failure).
func readUntil(t *testing.T, st *Stream, done func(tx *pipeline.Tx) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for {
		tx, _, err := pipeline.ReadTx(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		if done(tx) {
			return
		}
	}
}

// readAll reads every row of a table through sn, one chunk (or all of
// c's), and returns them.
func readAll(t *testing.T, sn *Snapshot, ts *pipeline.TableSchema) []pipeline.Row {
	t.Helper()
	var rows []pipeline.Row
	if _, err := sn.Read(t.Context(), ts, func(c *pipeline.Change) error {
		if c.Op != pipeline.OpRead || !c.Source.Snapshot || c.Source.LSN != sn.LSN() || c.Schema != ts {
			t.Errorf("snapshot change %+v", c)
		}
		rows = append(rows, c.After)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return rows
}

// sameValue compares two values of the pipeline's Go types.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case *big.Rat:
		y, ok := b.(*big.Rat)
		return ok && x.Cmp(y) == 0
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y) && x.Location() == y.Location()
	}
	return a == b
}

// snapshotOf takes a snapshot slot of s and opens its first session,
// both closed at cleanup.
func snapshotOf(t *testing.T, s *Source) (*Slot, *Snapshot) {
	t.Helper()
	slot, err := s.SnapshotSlot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slot.Release(context.Background()) })
	sn, err := s.OpenSnapshot(t.Context(), slot)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sn.Close(context.Background()) })
	return slot, sn
}

// schemaOf returns t's schema as of sn, numbered.
func schemaOf(t *testing.T, sn *Snapshot, tb Table) *pipeline.TableSchema {
	t.Helper()
	shape, err := sn.Schema(t.Context(), tb)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := pipeline.Evolve(nil, shape)
	return &ts
}
