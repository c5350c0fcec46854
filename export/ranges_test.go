package export_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/export"
)

// bigTable creates table t with n rows whose pad makes about 40 rows a
// page, so that ranges of a few pages cut it in many.
func bigTable(h *harness, n int) {
	h.t.Helper()
	h.exec(`CREATE TABLE t (id integer, name text, amount numeric(12,2), pad text)`,
		`INSERT INTO t SELECT i, CASE WHEN i % 7 = 0 THEN 'a,"b"' || E'\n' || i ELSE 'name-' || i END,
			i * 1.5, repeat('x', 150) FROM generate_series(1, `+itoa(n)+`) i`)
}

// files reads the parts under prefix in order.
func (h *harness) files(prefix string) map[string][]byte {
	h.t.Helper()
	out := map[string][]byte{}
	for _, k := range h.keys(prefix) {
		out[strings.TrimPrefix(k, prefix)] = h.get(k)
	}
	return out
}

// usedRanges reports whether the export's log says it read the table in
// ranges, and in how many.
func (h *harness) usedRanges(id int64) string {
	h.t.Helper()
	lines, err := h.in.TaskLog(h.t.Context(), id)
	must(h.t, err)
	for _, l := range lines {
		if s := l.String(); strings.Contains(s, "ranges of its pages") {
			return s
		}
	}
	return ""
}

// digest is the row count and an md5 of the sorted rows of CSV parts
// with a header line each.
func digest(t *testing.T, parts map[string][]byte) (int, string) {
	t.Helper()
	var rows []string
	for _, b := range parts {
		_, body, _ := bytes.Cut(b, []byte("\n"))
		// A row ends at a newline outside quotes; names hold quoted ones.
		var cur []byte
		quoted := false
		for _, c := range body {
			cur = append(cur, c)
			if c == '"' {
				quoted = !quoted
			}
			if c == '\n' && !quoted {
				rows = append(rows, string(cur))
				cur = nil
			}
		}
		if len(cur) > 0 {
			t.Fatalf("a part ends inside a row: %q", cur)
		}
	}
	slices.Sort(rows)
	return len(rows), fmt.Sprintf("%x", md5.Sum([]byte(strings.Join(rows, ""))))
}

// TestParallelExportSameAsOneCopy: a whole-table export read in ranges
// under one snapshot writes the same parts, byte for byte, as one COPY of
// the table (rows in physical order, the header at the top of each part),
// and its rows are the table's as of the snapshot: rows inserted, deleted
// and updated once the export has begun don't show.
func TestParallelExportSameAsOneCopy(t *testing.T) {
	h := newHarness(t, dbNamed("postgres"))
	export.RangePages(h.runner, 8)
	const n = 6000
	bigTable(h, n)
	p := export.Params{Query: "SELECT * FROM t", Format: export.FormatCSV, Header: true, MaxFileSize: 64 << 10}
	p.URI, p.Parallel = h.uri("one/x"), 1
	one := h.ok(p)
	if h.usedRanges(one.ID) != "" {
		t.Fatal("Parallel 1 read the table in ranges")
	}
	want := h.files("one/")
	if len(want) < 3 {
		t.Fatalf("the single COPY wrote %d parts, want several", len(want))
	}

	var once sync.Once
	export.FailRange(h.runner, func(i int) error {
		// After the first range is read the snapshot is taken and most
		// ranges are still to read: change rows in all of them.
		once.Do(func() {
			h.exec(`DELETE FROM t WHERE id % 10 = 3`, `UPDATE t SET name = 'changed' WHERE id % 10 = 5`,
				`INSERT INTO t SELECT i, 'new', 0, 'y' FROM generate_series(`+itoa(n+1)+`, `+itoa(n+500)+`) i`)
		})
		return nil
	})
	t.Cleanup(func() { export.FailRange(h.runner, nil) })
	p.URI, p.Parallel = h.uri("par/x"), 3
	par := h.ok(p)
	if log := h.usedRanges(par.ID); !strings.Contains(log, "on 3 sessions") {
		t.Fatalf("parallel export's log: %q, want it read in ranges on 3 sessions", log)
	}
	got := h.files("par/")
	if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
		t.Fatalf("parallel export wrote %v, one COPY %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	for k := range want {
		if !bytes.Equal(got[k], want[k]) {
			t.Errorf("part %s differs from one COPY's (%d bytes, want %d)", k, len(got[k]), len(want[k]))
		}
		if c := bytes.Count(got[k], []byte("id,name,amount,pad\n")); c != 1 || !bytes.HasPrefix(got[k], []byte("id,name,amount,pad\n")) {
			t.Errorf("part %s has the header %d times, or not at its top", k, c)
		}
	}
	gotN, gotSum := digest(t, got)
	wantN, wantSum := digest(t, want)
	if gotN != n || gotN != wantN || gotSum != wantSum {
		t.Errorf("parallel export: %d rows, md5 %s; one COPY: %d rows, md5 %s; want %d rows", gotN, gotSum, wantN, wantSum, n)
	}
	// The changes were committed: an export now sees them.
	p.URI = h.uri("after/x")
	h.ok(p)
	if afterN, afterSum := digest(t, h.files("after/")); afterN != n-n/10+500 || afterSum == wantSum {
		t.Errorf("export after the changes: %d rows, md5 %s; want %d rows and another md5", afterN, afterSum, n-n/10+500)
	}
}

// TestParallelExportSmallTables: tables of no rows, one row, and one
// never analyzed (relpages 0) export through ranges as one COPY would.
func TestParallelExportSmallTables(t *testing.T) {
	h := newHarness(t, dbNamed("postgres"))
	export.RangePages(h.runner, 1)
	cases := []struct {
		name, table string
		setup       []string
		rows        int
		// ranges: the table has more pages than one range (RangePages 1)
		// holds; else one COPY reads it, with no second session.
		ranges bool
	}{
		{"empty", "e", []string{`CREATE TABLE e (id integer, name text) WITH (autovacuum_enabled = off)`}, 0, false},
		{"one", "o", []string{`CREATE TABLE o (id integer, name text) WITH (autovacuum_enabled = off)`, `INSERT INTO o VALUES (1, 'a,b')`}, 1, false},
		// Never analyzed: relpages is 0 though the table has pages.
		{"unanalyzed", "u", []string{`CREATE TABLE u (id integer, name text) WITH (autovacuum_enabled = off)`,
			`INSERT INTO u SELECT i, repeat('n', 200) FROM generate_series(1, 300) i`}, 300, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.exec(c.setup...)
			table := c.table
			var relpages int
			must(t, h.db.QueryRowContext(t.Context(), `SELECT relpages FROM pg_class WHERE oid = $1::regclass`, table).Scan(&relpages))
			if relpages != 0 {
				t.Fatalf("relpages of %s: %d, want 0 (not analyzed)", table, relpages)
			}
			p := export.Params{Query: "select * from " + table, Format: export.FormatCSV, Header: true}
			p.URI, p.Parallel = h.uri(c.name+"/one/x"), 1
			h.ok(p)
			p.URI, p.Parallel = h.uri(c.name+"/par/x"), 4
			par := h.ok(p)
			if used := h.usedRanges(par.ID) != ""; used != c.ranges {
				t.Errorf("the export read the table in ranges: %t, want %t", used, c.ranges)
			}
			want, got := h.files(c.name+"/one/"), h.files(c.name+"/par/")
			if !maps.EqualFunc(got, want, bytes.Equal) {
				t.Errorf("parallel export %q, one COPY %q", got, want)
			}
			if n, _ := digest(t, got); n != c.rows {
				t.Errorf("%d rows, want %d", n, c.rows)
			}
		})
	}
}

// TestParallelExportWorkerFails: a range that fails fails the export,
// which leaves no file and no upload behind and says why.
func TestParallelExportWorkerFails(t *testing.T) {
	h := newHarness(t, dbNamed("postgres"))
	export.RangePages(h.runner, 8)
	bigTable(h, 3000)
	export.FailRange(h.runner, func(i int) error {
		if i == 5 {
			return errors.New("range reader broke")
		}
		return nil
	})
	p := export.Params{Query: "SELECT * FROM t", Format: export.FormatCSV, MaxFileSize: 16 << 10, Parallel: 3, URI: h.uri("fail/x")}
	done := h.fails(p, "range reader broke")
	if h.usedRanges(done.ID) == "" {
		t.Error("the export did not read the table in ranges")
	}
	if keys := h.keys("fail/"); len(keys) > 0 {
		t.Errorf("failed export left %v", keys)
	}
	var keys []string
	for i := range 40 {
		keys = append(keys, "fail/x.part_"+fmt.Sprintf("%05d", i))
	}
	h.uploadsOf(keys...)
	h.noUploads()
	h.noOpenTransactions()
}

// noOpenTransactions fails the test unless, soon, no session of the
// test's database is left inside a transaction: the snapshot's and the
// ranges' sessions end with the export.
func (h *harness) noOpenTransactions() {
	h.t.Helper()
	var n int
	waitFor(h.t, "sessions to leave their transactions", 5*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(h.t.Context(), 5*time.Second)
		defer cancel()
		must(h.t, h.db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL`).Scan(&n))
		return n == 0
	})
}

// TestParallelExportS3Fails: an S3 error on the second part while ranges
// are being read stops the readers; the first part is deleted.
func TestParallelExportS3Fails(t *testing.T) {
	h := newHarness(t, dbNamed("postgres"))
	export.RangePages(h.runner, 8)
	bigTable(h, 3000)
	h.runner.Deps.Store = func(context.Context, s3bridge.Settings) (export.ObjectStore, error) {
		return flakyStore{h.store, "s3err/x.part_00001"}, nil
	}
	p := export.Params{Query: "SELECT * FROM t", Format: export.FormatCSV, MaxFileSize: 16 << 10, Parallel: 3, URI: h.uri("s3err/x")}
	done := h.fails(p, "InternalError", "1 finished parts deleted")
	if h.usedRanges(done.ID) == "" {
		t.Error("the export did not read the table in ranges")
	}
	if n := rowsWritten(t, done.TaskInfo); n >= 3000 {
		t.Errorf("the table was read to the end (%d rows) after the failure", n)
	}
	if keys := h.keys("s3err/"); len(keys) > 0 {
		t.Errorf("failed export left %v", keys)
	}
	h.uploadsOf("s3err/x.part_00000", "s3err/x.part_00001", "s3err/x.part_00002")
	h.noOpenTransactions()
}

// TestNotWholeTable: queries that are more than a table take one COPY.
func TestParallelExportOnlyWholeTables(t *testing.T) {
	h := newHarness(t, dbNamed("postgres"))
	export.RangePages(h.runner, 1)
	h.exec(`CREATE TABLE w (id integer)`, `INSERT INTO w SELECT generate_series(1, 500)`, `CREATE VIEW v AS SELECT * FROM w`)
	for i, q := range []string{"SELECT * FROM w WHERE id > 1", "SELECT id FROM w", "SELECT * FROM v"} {
		p := export.Params{Query: q, Format: export.FormatCSV, Parallel: 4, URI: h.uri(fmt.Sprintf("q%d/x", i))}
		if done := h.ok(p); h.usedRanges(done.ID) != "" {
			t.Errorf("%s: read in ranges", q)
		}
	}
}
