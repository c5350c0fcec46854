package export_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"github.com/s3bridge/s3bridge/tuple"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/export"
)

var stoppedAfter = regexp.MustCompile(`stopped after (\d+) rows`)

// rowsWritten reads "stopped after N rows" from a task_info.
func rowsWritten(t *testing.T, info string) int {
	t.Helper()
	m := stoppedAfter.FindStringSubmatch(info)
	if m == nil {
		t.Fatalf("task_info %q does not say how many rows were written", info)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestQueryFailsMidStream: a query that fails after thousands of rows,
// some parts already uploaded, leaves no object and no multipart upload,
// and says how far it got and why; with KeepPartial the finished parts
// stay (and no manifest is written).
func TestQueryFailsMidStream(t *testing.T) {
	forEachDB(t, func(t *testing.T, d db) {
		h := newHarness(t, d)
		for _, f := range []string{export.FormatCSV, export.FormatParquet} {
			t.Run(f, func(t *testing.T) {
				p := export.Params{Query: d.series(30000, 20000), URI: h.uri("fail/" + f), Format: f, MaxFileSize: 16 << 10, Manifest: true}
				done := h.fails(p, "stopped after", "finished parts deleted")
				if n := rowsWritten(t, done.TaskInfo); n < 1000 || n >= 20000 {
					t.Errorf("task_info says %d rows were written, want some before row 20000", n)
				}
				if keys := h.keys("fail/"); len(keys) > 0 {
					t.Errorf("a failed export left %v", keys)
				}
				h.noUploads()
				p.KeepPartial, p.URI = true, h.uri("keep/"+f)
				done = h.fails(p, "finished parts kept")
				keys := h.keys("keep/")
				if len(keys) == 0 || slicesContains(keys, "keep/"+f+".manifest") {
					t.Errorf("KeepPartial kept %v, want the finished parts and no manifest", keys)
				}
				for _, k := range keys {
					h.delete(k)
				}
				h.noUploads()
			})
		}
	})
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (h *harness) delete(key string) {
	h.t.Helper()
	must(h.t, h.store.Delete(h.t.Context(), h.bucket, key))
}

// TestCancel: cancel_task on a running export stops it within a heartbeat;
// the uploaded parts are deleted and no multipart upload is left.
func TestCancel(t *testing.T) {
	forEachDB(t, func(t *testing.T, d db) {
		h := newHarness(t, d)
		slow := map[string]string{
			"postgres": "SELECT i, pg_sleep(0.0002) AS s FROM generate_series(1, 1000000) AS i",
			"mariadb":  "SELECT seq AS i, SLEEP(0.0002) AS z FROM seq_1_to_1000000",
			"sqlite":   d.series(50000000, 0),
		}[d.name]
		id, err := h.in.Enqueue(t.Context(), export.Task(export.Params{Query: slow, URI: h.uri("cancel/x"), Format: export.FormatCSV, MaxFileSize: 4 << 10}))
		must(t, err)
		claimed, err := h.in.ClaimTask(t.Context(), id, h.agent.ID(), time.Minute)
		must(t, err)
		done := make(chan s3bridge.Lifecycle)
		go func() { done <- h.agent.Execute(t.Context(), h.in, claimed) }()
		waitFor(t, "a finished part", 30*time.Second, func() bool { return h.sent(id) })
		if _, err := h.in.Cancel(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		select {
		case lc := <-done:
			if lc != s3bridge.Cancelled {
				task, _ := h.in.Task(t.Context(), id)
				t.Fatalf("lifecycle %s (%s), want CANCELLED", lc, task.TaskInfo)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the export did not stop within 30s of the cancel")
		}
		if keys := h.keys("cancel/"); len(keys) > 0 {
			t.Errorf("a cancelled export left %v", keys)
		}
		h.noUploads()
		lines, err := h.in.TaskLog(t.Context(), id)
		must(t, err)
		var log strings.Builder
		for _, l := range lines {
			log.WriteString(l.String() + "\n")
		}
		if !stoppedAfter.MatchString(log.String()) || !strings.Contains(log.String(), "finished parts deleted") {
			t.Errorf("the log does not say how many rows were written and what was deleted:\n%s", log.String())
		}
	})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNotASelect: anything but a single SELECT is refused before it runs,
// by the runner and by each source on its own (read-only transaction,
// single-statement parse, SQLite's authorizer), and the table is intact.
func TestNotASelect(t *testing.T) {
	forEachDB(t, func(t *testing.T, d db) {
		h := newHarness(t, d)
		h.exec(d.table(3)...)
		for _, q := range []string{
			"DELETE FROM t",
			"SELECT 1; DELETE FROM t",
			"UPDATE t SET id = 0",
			"WITH d AS (DELETE FROM t RETURNING id) SELECT * FROM d",
			"SELECT * FROM t FOR UPDATE",
			"INSERT INTO t VALUES (9, 'x', 1)",
		} {
			h.fails(export.Params{Query: q, URI: h.uri("refused/x"), Format: export.FormatCSV}, "query")
		}
		src := h.in.(bulk.Source)
		smuggled := map[string]string{
			// Each source gets the statements past the parser's lexer
			// would hide, run directly.
			"postgres": "SELECT 1) TO STDOUT; DELETE FROM t; COPY (SELECT 1",
			"mariadb":  "SELECT 1; DELETE FROM t",
			"sqlite":   "SELECT 'a\\'; DELETE FROM t; --'",
		}[d.name]
		for _, q := range []string{"DELETE FROM t", smuggled} {
			err := src.Query(t.Context(), bulk.Query{SQL: q}, func(r tuple.Rows) error {
				row := make([]tuple.Value, len(r.Columns()))
				for r.Next(row) == nil {
				}
				return nil
			})
			if err == nil {
				t.Errorf("%s: the source ran %q", d.name, q)
			}
			if c, ok := src.(bulk.Copier); ok {
				if err := c.CopyTo(t.Context(), nopWriter{}, bulk.Query{SQL: q}, "FORMAT csv"); err == nil {
					t.Errorf("%s: COPY ran %q", d.name, q)
				}
			}
		}
		var n int
		must(t, h.db.QueryRowContext(t.Context(), "SELECT count(*) FROM t").Scan(&n))
		if n != 3 {
			t.Errorf("table t has %d rows after the refusals, want 3", n)
		}
		if keys := h.keys("refused/"); len(keys) > 0 {
			t.Errorf("refused exports wrote %v", keys)
		}
	})
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// TestDenied: a permission error from the source satisfies ErrAccessDenied.
func TestDenied(t *testing.T) {
	err := bulk.Denied(errors.New("permission denied for table t"))
	if !errors.Is(err, s3bridge.ErrAccessDenied) || err.Error() != "permission denied for table t" {
		t.Errorf("Denied: %v", err)
	}
}

// flakyStore fails the upload of one key after reading some of it, as S3
// might mid-transfer.
type flakyStore struct {
	export.ObjectStore
	key string
}

func (f flakyStore) Stage(ctx context.Context, bucket, key string, r io.Reader, opts s3bridge.PutOptions) (s3bridge.StagedObject, error) {
	if key == f.key {
		io.CopyN(io.Discard, r, 1000)
		return nil, errors.New("s3: upload part 1 of " + key + ": InternalError: we encountered an internal error")
	}
	return f.ObjectStore.Stage(ctx, bucket, key, r, opts)
}

// denyGuard is an instance policy that denies writing one key.
type denyGuard struct{ key string }

func (g denyGuard) Allow(action, resource string, _ map[string][]string) error {
	if action == "s3:PutObject" && strings.HasSuffix(resource, "/"+g.key) {
		return fmt.Errorf("%s on %s: explicitDeny by statement \"no\": %w", action, resource, s3bridge.ErrAccessDenied)
	}
	return nil
}

// TestS3Failure: an S3 error or a policy denial on the second part stops
// the export; the first part is deleted and the query is not read further.
func TestS3Failure(t *testing.T) {
	d := dbNamed("postgres")
	h := newHarness(t, d)
	for _, tt := range []struct {
		prefix string
		tweak  func(r *export.Runner)
	}{
		{"s3err", func(r *export.Runner) {
			r.Deps.Store = func(context.Context, s3bridge.Settings) (export.ObjectStore, error) {
				return flakyStore{h.store, "s3err/x.part_00001"}, nil
			}
		}},
		{"policy", func(r *export.Runner) {
			r.Deps.Guard = func(s3bridge.Settings, string) (s3bridge.Guard, error) { return denyGuard{"policy/x.part_00001"}, nil }
		}},
	} {
		t.Run(tt.prefix, func(t *testing.T) {
			saved := *h.runner
			defer func() { *h.runner = saved }()
			tt.tweak(h.runner)
			prefix := tt.prefix
			done := h.fails(export.Params{Query: d.series(100000, 0), URI: h.uri(prefix + "/x"), Format: export.FormatCSV, MaxFileSize: 16 << 10},
				"stopped after", "1 finished parts deleted")
			if strings.Contains(done.TaskInfo, "query:") {
				t.Errorf("an S3 failure reported as the query's: %s", done.TaskInfo)
			}
			if n := rowsWritten(t, done.TaskInfo); n >= 100000 {
				t.Errorf("the query was read to the end (%d rows) after the failure", n)
			}
			if keys := h.keys(prefix + "/"); len(keys) > 0 {
				t.Errorf("left %v", keys)
			}
			h.noUploads()
		})
	}
}
