package binlog

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/pipeline"
)

// env is one test's private database on the binlog server, a Source on
// it with a server id of its own, and an SQL connection.
type env struct {
	t    *testing.T
	url  string // the source URL
	name string // the database
	db   *sql.DB
	src  *Source
}

// newEnv creates a private database (testenv.BinlogSource) and runs ddl
// in it.
func newEnv(t *testing.T, ddl ...string) *env {
	t.Helper()
	source, name, db := testenv.BinlogSource(t)
	src, err := New(source, name)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, url: source, name: name, db: db, src: src}
	for _, s := range ddl {
		e.exec(s)
	}
	return e
}

func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.db.ExecContext(e.t.Context(), sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

// stream streams from the server's current position, only the env's
// database (other tests write to the same server meanwhile).
func (e *env) stream(opts StreamOptions) *Stream {
	e.t.Helper()
	if opts.Include == nil {
		opts.Include = func(db, _ string) bool { return db == e.name }
	}
	st, err := e.src.Stream(e.t.Context(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close(context.Background()) })
	return st
}

// changes reads transactions (pipeline.ReadTx) until n changes have come
// and the transaction of the last is committed, and returns the changes
// and the transactions that had changes.
func changes(t *testing.T, st *Stream, n int) ([]pipeline.Change, []*pipeline.Tx) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var cs []pipeline.Change
	var txs []*pipeline.Tx
	for len(cs) < n {
		tx, _, err := pipeline.ReadTx(ctx, st)
		if err != nil {
			t.Fatalf("after %d of %d changes: %v", len(cs), n, err)
		}
		if len(tx.Changes) > 0 {
			cs = append(cs, tx.Changes...)
			txs = append(txs, tx)
		}
	}
	return cs, txs
}

// rawTableMap parses ev when it is a TABLE_MAP event (checksummed, as
// the test server writes them).
func rawTableMap(t *testing.T, ev []byte) *tableMap {
	t.Helper()
	h, body, _, err := split(ev, checksumCRC32, "", 0)
	if err != nil || h.Type != TableMapEvent {
		return nil
	}
	tm, err := parseTableMap(body, 8)
	if err != nil {
		t.Errorf("TABLE_MAP: %v", err)
		return nil
	}
	return tm
}
