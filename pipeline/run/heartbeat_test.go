package run

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/s3bridge/s3bridge/internal/filecheck"
	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/pgsource"
	"github.com/s3bridge/s3bridge/pipeline/writer"
)

// TestHeartbeatMovesIdleSlot: a pipeline captures table a while table b,
// outside its publication, takes a stream of small transactions. Without
// heartbeats the slot's confirmed_flush_lsn stays where the pipeline
// started (pgoutput sends nothing for b's transactions), so the server
// keeps all of b's WAL; with them it follows pg_current_wal_lsn(), and no
// file is written for a.
func TestHeartbeatMovesIdleSlot(t *testing.T) {
	e := newEnv(t, `CREATE TABLE a (id int PRIMARY KEY, v text); CREATE TABLE b (id bigserial PRIMARY KEY, v text)`)
	cfg := e.config()
	cfg.Publication = pgsource.Publication{Tables: []pgsource.Table{{Schema: "public", Name: "a"}}}
	cfg.Snapshot = SnapshotNever
	cfg.HeartbeatInterval = -1
	cfg.Heartbeat = PostgresHeartbeat{URL: e.url, Name: "p1"}
	e.busy("b")

	// Heartbeats off: the slot stays put however much b writes.
	r := e.start(cfg)
	start := e.waitCheckpoint(r, 1)
	e.waitConfirmed(start.LSN)
	from := e.currentLSN()
	for e.currentLSN() < from+1<<20 { // b writes 1 MiB of WAL
		time.Sleep(50 * time.Millisecond)
	}
	if st := e.slot(); st.ConfirmedFlush != start.LSN {
		t.Fatalf("without heartbeats the slot moved from %s to %s: the test shows nothing", start.LSN, st.ConfirmedFlush)
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}

	// Heartbeats every 500ms: the slot passes the WAL position of now, then
	// again a later one, while b goes on writing.
	cfg.HeartbeatInterval = 500 * time.Millisecond
	r = e.start(cfg)
	for range 2 {
		now := e.currentLSN()
		e.waitConfirmedPast(r, now)
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	cp := e.mustLoad()
	if m := cp.Tables["public.a"]; m.File != "" {
		t.Errorf("checkpoint records file %s for idle table a", m.File)
	}
	l := writer.Layout{Prefix: "cdc", Database: e.src.Database()}
	if keys := filecheck.Keys(t, e.store, e.bucket, l.ChangesDir("public", "a")); len(keys) != 0 {
		t.Errorf("change files for idle table a: %v", keys)
	}
}

// busy inserts rows into table in small transactions, from its own
// connection, until the test ends.
func (e *env) busy(table string) {
	e.t.Helper()
	conn, err := pgx.Connect(e.t.Context(), e.url)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	sql := `INSERT INTO ` + pgx.Identifier{table}.Sanitize() + ` (v) SELECT repeat('x', 200) FROM generate_series(1, 20)`
	go func() {
		for ctx.Err() == nil {
			if _, err := conn.Exec(ctx, sql); err != nil && ctx.Err() == nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			e.t.Errorf("writes to %s: %v", table, err)
		}
		conn.Close(context.Background())
	})
}

func (e *env) currentLSN() pipeline.LSN {
	e.t.Helper()
	var s string
	if err := e.db.QueryRow(e.t.Context(), `SELECT pg_current_wal_lsn()::text`).Scan(&s); err != nil {
		e.t.Fatal(err)
	}
	lsn, err := pipeline.ParseLSN(s)
	if err != nil {
		e.t.Fatal(err)
	}
	return lsn
}

func (e *env) slot() pgsource.SlotState {
	e.t.Helper()
	st, err := e.src.State(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// waitConfirmedPast polls until the slot's confirmed_flush_lsn is at
// least lsn (a Run that returns meanwhile fails the test).
func (e *env) waitConfirmedPast(r *running, lsn pipeline.LSN) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := e.slot()
		if st.ConfirmedFlush >= lsn {
			return
		}
		select {
		case err := <-r.done:
			r.done <- err
			e.t.Fatalf("Run returned while waiting for the slot to pass %s: %v", lsn, err)
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("confirmed_flush_lsn %s, want at least %s", st.ConfirmedFlush, lsn)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
