package pgsource

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/pipeline"
)

// env is one test's private database, pipeline source and SQL connection.
type env struct {
	t   *testing.T
	url string
	src *Source
	db  *pgx.Conn
}

// newEnv creates a private database and a Source with its own pipeline
// name; the slot and publication are dropped at cleanup (before the
// database, which a slot would keep from being dropped).
func newEnv(t *testing.T, ddl ...string) *env {
	t.Helper()
	url := testenv.Postgres(t)
	src, err := New(url, testenv.Name("t"))
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
	e := &env{t: t, url: url, src: src, db: db}
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

// create makes the pipeline's slot and releases its snapshot.
func (e *env) create(pub Publication) *Slot {
	e.t.Helper()
	slot, err := e.src.Create(e.t.Context(), pub)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := slot.Release(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
	return slot
}

func (e *env) stream(opts StreamOptions) *Stream {
	e.t.Helper()
	st, err := e.src.Stream(e.t.Context(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close(context.Background()) })
	return st
}

// readTx reads the next transaction, failing the test after 20s.
func readTx(t *testing.T, st *Stream) (*pipeline.Tx, []pipeline.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	tx, loose, err := pipeline.ReadTx(ctx, st)
	if err != nil {
		t.Fatalf("read transaction: %v", err)
	}
	return tx, loose
}

// confirmedFlush reads the slot's confirmed_flush_lsn from the server.
func (e *env) confirmedFlush() pipeline.LSN {
	e.t.Helper()
	st, err := e.src.State(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return st.ConfirmedFlush
}

// waitConfirmed polls until the server reports want as confirmed: status
// updates are asynchronous.
func (e *env) waitConfirmed(want pipeline.LSN) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := e.confirmedFlush()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("confirmed_flush_lsn = %s, want %s", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// norm turns a row into comparable values: exact decimals as strings,
// times as RFC 3339 in UTC with the location checked.
func norm(r pipeline.Row) []any {
	if r == nil {
		return nil
	}
	out := make([]any, len(r))
	for i, v := range r {
		out[i] = normValue(v)
	}
	return out
}

func normValue(v any) any {
	switch x := v.(type) {
	case *big.Rat:
		return "rat:" + x.RatString()
	case time.Time:
		if x.Location() != time.UTC {
			return "non-UTC time " + x.String()
		}
		return "time:" + x.Format(time.RFC3339Nano)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normValue(e)
		}
		return out
	}
	return v
}

// summary describes a change in one comparable string-ish value.
func summary(c pipeline.Change) string {
	return fmt.Sprintf("%s %s.%s v%d before=%v after=%v toast=%v", c.Op, c.Source.Schema, c.Source.Table,
		c.Schema.Version, norm(c.Before), norm(c.After), c.UnchangedToast)
}

func isBehind(err error) bool {
	var b *BehindSlotError
	return errors.As(err, &b)
}
