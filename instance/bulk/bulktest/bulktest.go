// Package bulktest is the conformance suite of the bulk contracts: every
// driver's Sink and Source runs the same tests against its real database,
// as instancetest does for the queue.
//
//	bulktest.RunSink(t, bulktest.Harness{Open: …, Table: …, History: …})
//	bulktest.RunSource(t, bulktest.Harness{Open: …})
package bulktest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"github.com/s3bridge/s3bridge/tuple"
)

// Harness is what the suite needs from a driver's tests.
type Harness struct {
	// Open returns a fresh, attached instance and a handle on the same
	// database for checking rows (the instance's own pool will do). The
	// suite closes the instance; a separate handle is the caller's to close.
	Open func(t *testing.T) (instance.Instance, *sql.DB)
	// Table is the CREATE TABLE of t (id integer, name text) in the
	// database's dialect.
	Table string
	// History is the query that counts the rows of in's load history.
	History func(in instance.Instance) string
}

// RunSink runs the Sink conformance tests.
func RunSink(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *sinkCase)
	}{
		{"FilesCommitTogether", testCommitTogether},
		{"RollbackLeavesTable", testRollback},
		{"ReplaceKeepsOldRowsUntilCommit", testReplace},
		{"BadValueNamesLine", testBadValue},
		{"HeaderMapsByName", testHeader},
		{"StaleClaimCommitsNothing", testStaleClaim},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newSinkCase(t, h))
		})
	}
}

type sinkCase struct {
	in   instance.Instance
	sink bulk.Sink
	db   *sql.DB
	h    Harness
}

func newSinkCase(t *testing.T, h Harness) *sinkCase {
	t.Helper()
	in, db := h.Open(t)
	t.Cleanup(func() { in.Close() })
	sink, ok := in.(bulk.Sink)
	if !ok {
		t.Fatalf("%T is not a bulk.Sink", in)
	}
	if _, err := db.ExecContext(t.Context(), h.Table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	return &sinkCase{in: in, sink: sink, db: db, h: h}
}

func csv() format.Options { return format.Options{Format: "csv"} }

// load runs one file through an open transaction.
func (s *sinkCase) load(t *testing.T, tx bulk.Tx, name, body string) (int64, error) {
	t.Helper()
	f := bulk.File{URI: "s3://bulktest/" + name, Key: name, Size: int64(len(body))}
	n, err := tx.Load(t.Context(), f, strings.NewReader(body))
	if err == nil {
		err = tx.Record(t.Context(), bulk.History{LoadPrefix: f.URI, FileName: f.URI, Bytes: f.Size, Rows: n, At: time.Now().UTC()})
	}
	return n, err
}

// rows is the table as "id|name" in id order.
func (s *sinkCase) rows(t *testing.T) []string {
	t.Helper()
	return query(t, s.db, `SELECT id, name FROM t ORDER BY id`)
}

func (s *sinkCase) history(t *testing.T) int {
	t.Helper()
	var n int
	if err := s.db.QueryRowContext(t.Context(), s.h.History(s.in)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func query(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rs, err := db.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var id int
		var name sql.NullString
		if err := rs.Scan(&id, &name); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d|%s", id, name.String))
	}
	return out
}

func testCommitTogether(t *testing.T, s *sinkCase) {
	tx, err := s.sink.Begin(t.Context(), bulk.Target{Table: "t", Options: csv()})
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"a.csv": "1,alpha\n2,beta\n", "b.csv": "3,gamma\n"} {
		if _, err := s.load(t, tx, name, body); err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
	}
	if got := s.rows(t); len(got) != 0 {
		t.Errorf("rows visible before commit: %v", got)
	}
	if err := tx.Commit(t.Context(), s3bridge.Result{Info: "done"}); err != nil {
		t.Fatal(err)
	}
	if got, want := s.rows(t), []string{"1|alpha", "2|beta", "3|gamma"}; !slices.Equal(got, want) {
		t.Errorf("rows: got %v, want %v", got, want)
	}
	if n := s.history(t); n != 2 {
		t.Errorf("history rows: %d, want 2", n)
	}
}

func testRollback(t *testing.T, s *sinkCase) {
	tx, err := s.sink.Begin(t.Context(), bulk.Target{Table: "t", Options: csv()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.load(t, tx, "a.csv", "1,alpha\n"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := s.rows(t); len(got) != 0 || s.history(t) != 0 {
		t.Errorf("after rollback: rows %v, history %d", got, s.history(t))
	}
}

func testReplace(t *testing.T, s *sinkCase) {
	if _, err := s.db.ExecContext(t.Context(), `INSERT INTO t (id, name) VALUES (9, 'old')`); err != nil {
		t.Fatal(err)
	}
	tx, err := s.sink.Begin(t.Context(), bulk.Target{Table: "t", Options: csv(), Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.load(t, tx, "a.csv", "1,new\n"); err != nil {
		t.Fatal(err)
	}
	if got := s.rows(t); !slices.Equal(got, []string{"9|old"}) {
		t.Errorf("during a replace others see %v, want the old rows", got)
	}
	if err := tx.Commit(t.Context(), s3bridge.Result{Info: "done"}); err != nil {
		t.Fatal(err)
	}
	if got := s.rows(t); !slices.Equal(got, []string{"1|new"}) {
		t.Errorf("after a replace: %v, want only the new rows", got)
	}
}

func testBadValue(t *testing.T, s *sinkCase) {
	tx, err := s.sink.Begin(t.Context(), bulk.Target{Table: "t", Options: csv()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.load(t, tx, "bad.csv", "1,alpha\n2,beta\nthree,gamma\n")
	tx.Rollback(context.WithoutCancel(t.Context()))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("a bad value on line 3: got %v, want an error naming line 3", err)
	}
	if got := s.rows(t); len(got) != 0 {
		t.Errorf("rows after a failed load: %v", got)
	}
}

func testHeader(t *testing.T, s *sinkCase) {
	o := csv()
	o.Header = true
	tx, err := s.sink.Begin(t.Context(), bulk.Target{Table: "t", Options: o})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.load(t, tx, "h.csv", "name,id\nalpha,1\nbeta,2\n"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(t.Context(), s3bridge.Result{Info: "done"}); err != nil {
		t.Fatal(err)
	}
	if got, want := s.rows(t), []string{"1|alpha", "2|beta"}; !slices.Equal(got, want) {
		t.Errorf("header name,id: got %v, want %v", got, want)
	}
}

// testStaleClaim: a load whose claim was superseded (the task reclaimed
// after its lease) commits nothing and says the lease was lost; the
// current claim completes the task with the rows.
func testStaleClaim(t *testing.T, s *sinkCase) {
	ctx := t.Context()
	id, err := s.in.Enqueue(ctx, s3bridge.Task{Type: s3bridge.TaskLoadFromS3})
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.in.ClaimTask(ctx, id, "a", 50*time.Millisecond)
	if err != nil || first == nil {
		t.Fatalf("claim: %v, %v", first, err)
	}
	var second *s3bridge.Task
	for deadline := time.Now().Add(10 * time.Second); second == nil && time.Now().Before(deadline); {
		if second, err = s.in.Claim(ctx, "b", time.Minute); err != nil {
			t.Fatal(err)
		}
		if second == nil {
			time.Sleep(20 * time.Millisecond) // polling the lease's expiry, with a deadline
		}
	}
	if second == nil {
		t.Fatal("the task was not reclaimed after its lease")
	}
	for _, c := range []struct {
		claim s3bridge.Claim
		rows  string
		lost  bool
	}{{first.Claim(), "1,stale\n", true}, {second.Claim(), "2,current\n", false}} {
		tx, err := s.sink.Begin(ctx, bulk.Target{Table: "t", Options: csv(), Claim: c.claim, TaskID: id})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.load(t, tx, "f.csv", c.rows); err != nil {
			t.Fatal(err)
		}
		err = tx.Commit(ctx, s3bridge.Result{Info: "loaded by attempt " + fmt.Sprint(c.claim.Attempt), Rows: c.claim.Attempt, Files: 1, Bytes: int64(len(c.rows))})
		if lost := errors.Is(err, s3bridge.ErrLeaseLost); lost != c.lost || (!c.lost && err != nil) {
			t.Errorf("commit under attempt %d: %v", c.claim.Attempt, err)
		}
	}
	if got := s.rows(t); !slices.Equal(got, []string{"2|current"}) {
		t.Errorf("rows: %v, want only the current attempt's", got)
	}
	task, err := s.in.Task(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if task.Lifecycle != s3bridge.Success || task.TaskInfo != "loaded by attempt 2" {
		t.Errorf("task: %s %q, want SUCCESS by attempt 2", task.Lifecycle, task.TaskInfo)
	}
	// The figures are committed with the rows, by the same attempt.
	if task.Rows != 2 || task.Files != 1 || task.Bytes != int64(len("2,current\n")) {
		t.Errorf("task's result: rows %d, files %d, bytes %d; want attempt 2's 2, 1, %d", task.Rows, task.Files, task.Bytes, len("2,current\n"))
	}
}

// RunSource runs the Source conformance tests.
func RunSource(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, src bulk.Source, db *sql.DB)
	}{
		{"ColumnsAndValues", testColumnsAndValues},
		{"OnlyOneQuery", testOnlyOneQuery},
		{"Streams", testStreams},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in, db := h.Open(t)
			t.Cleanup(func() { in.Close() })
			src, ok := in.(bulk.Source)
			if !ok {
				t.Fatalf("%T is not a bulk.Source", in)
			}
			if _, err := db.ExecContext(t.Context(), h.Table); err != nil {
				t.Fatalf("create table: %v", err)
			}
			tc.fn(t, src, db)
		})
	}
}

// text renders a value the way the suite compares them.
func text(v tuple.Value) string {
	switch v.Kind {
	case tuple.Null:
		return "NULL"
	case tuple.Int, tuple.Bool:
		return fmt.Sprint(v.Int)
	case tuple.Float:
		return fmt.Sprint(v.Float)
	case tuple.Text, tuple.Bytes:
		return string(v.Bytes)
	}
	return v.Time.Format(time.RFC3339)
}

func readAll(t *testing.T, src bulk.Source, q string) ([]string, [][]string, error) {
	t.Helper()
	var names []string
	var rows [][]string
	err := src.Query(t.Context(), bulk.Query{SQL: q}, func(r tuple.Rows) error {
		for _, c := range r.Columns() {
			names = append(names, c.Name)
		}
		buf := make([]tuple.Value, len(names))
		for {
			err := r.Next(buf)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			row := make([]string, len(buf))
			for i, v := range buf {
				row[i] = text(v)
			}
			rows = append(rows, row)
		}
	})
	return names, rows, err
}

func testColumnsAndValues(t *testing.T, src bulk.Source, db *sql.DB) {
	if _, err := db.ExecContext(t.Context(), `INSERT INTO t (id, name) VALUES (1, 'alpha'), (2, NULL)`); err != nil {
		t.Fatal(err)
	}
	names, rows, err := readAll(t, src, `SELECT id, name FROM t ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"id", "name"}) {
		t.Errorf("columns: %v", names)
	}
	got := fmt.Sprint(rows)
	if got != "[[1 alpha] [2 NULL]]" {
		t.Errorf("rows: %s", got)
	}
}

func testOnlyOneQuery(t *testing.T, src bulk.Source, db *sql.DB) {
	for _, q := range []string{`DELETE FROM t`, `SELECT 1; DELETE FROM t`} {
		if _, err := db.ExecContext(t.Context(), `INSERT INTO t (id, name) VALUES (1, 'keep')`); err != nil {
			t.Fatal(err)
		}
		if _, _, err := readAll(t, src, q); err == nil {
			t.Errorf("%q ran as an export query", q)
		}
		if got := query(t, db, `SELECT id, name FROM t`); len(got) == 0 {
			t.Errorf("%q deleted the rows", q)
		}
		db.ExecContext(t.Context(), `DELETE FROM t`)
	}
}

// testStreams reads more rows than any driver buffers in one piece.
func testStreams(t *testing.T, src bulk.Source, db *sql.DB) {
	var b strings.Builder
	b.WriteString(`INSERT INTO t (id, name) VALUES `)
	for i := range 5000 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d, 'row %d')", i, i)
	}
	if _, err := db.ExecContext(t.Context(), b.String()); err != nil {
		t.Fatal(err)
	}
	_, rows, err := readAll(t, src, `SELECT id, name FROM t ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5000 || rows[4999][1] != "row 4999" {
		t.Errorf("streamed %d rows, last %v", len(rows), rows[len(rows)-1])
	}
}
