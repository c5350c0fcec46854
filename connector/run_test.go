package connector_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/connector"
)

// setup guesses the config of prefix and creates table t from it with
// --auto-create-table's DDL.
func (h *harness) setup(prefix, extra string) connector.Config {
	h.t.Helper()
	c, err := connector.Guess(h.t.Context(), h.store, h.seed(prefix, extra))
	must(h.t, err)
	ddl, err := connector.CreateTableSQL(h.in.(connector.Ledger).DialectName(), "", "t", c.In.Parser.Columns)
	must(h.t, err)
	h.exec(ddl)
	return c
}

func (h *harness) ledger(name string) int {
	h.t.Helper()
	entries, _, err := h.in.(connector.Ledger).Ledger(h.t.Context(), name, 1000*time.Hour)
	must(h.t, err)
	return len(entries)
}

func TestIssue(t *testing.T) {
	for _, d := range databases {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			row := func(id int, ok bool, day string) string {
				return fmt.Sprintf("%d,%v,2024-01-%s 10:00:00,\"{\"\"k\"\":%d}\",n%d\n", id, ok, day, id, id)
			}
			head := "id,ok,at,doc,name\n"
			h.put("ev/b.csv", []byte(head+row(1, true, "02")+row(2, false, "03")))
			h.put("ev/c.csv.gz", gz([]byte(head+row(3, true, "04"))))
			h.put("ev/empty.csv", nil)
			c := h.setup("ev/", "")
			done := h.ok("events", "t", c)
			if got := joined(h.ids("t")); got != "1,2,3" {
				t.Fatalf("after the first run: ids %s", got)
			}
			if done.Rows != 3 || done.Files != 2 {
				t.Errorf("task figures: %d rows, %d files; want 3, 2", done.Rows, done.Files)
			}
			// Typed values reach each database's natural types.
			if n := h.count(`SELECT count(*) FROM t WHERE ok = true`); n != 2 {
				t.Errorf("%d rows with ok true, want 2", n)
			}
			if n := h.count(`SELECT count(*) FROM t WHERE at >= '2024-01-03'`); n != 2 {
				t.Errorf("%d rows at or after 2024-01-03, want 2", n)
			}
			// A run with nothing new loads nothing.
			if done := h.ok("events", "t", c); !strings.Contains(done.TaskInfo, "no new data") {
				t.Errorf("second run: %s", done.TaskInfo)
			}
			// A key that sorts before the last one loaded, arriving late.
			h.put("ev/a.csv", []byte(head+row(4, false, "05")))
			h.ok("events", "t", c)
			if got := joined(h.ids("t")); got != "1,2,3,4" {
				t.Fatalf("after the late key: ids %s", got)
			}
			// An object rewritten under its key (a new ETag) is loaded again.
			h.put("ev/b.csv", []byte(head+row(5, true, "06")))
			h.ok("events", "t", c)
			if got := joined(h.ids("t")); got != "1,2,3,4,5" {
				t.Fatalf("after the rewrite: ids %s", got)
			}
			if n := h.ledger("events"); n != 3 {
				t.Errorf("%d ledger rows, want 3 (a, b, c)", n)
			}
			// on_changed: skip leaves a rewritten object alone; error fails.
			h.put("ev/b.csv", []byte(head+row(6, true, "07")))
			h.ok("events", "t", h.withIn(c, "on_changed", "skip"))
			if done := h.run("events", "t", h.withIn(c, "on_changed", "error")); done.Lifecycle != s3bridge.Failed || !strings.Contains(done.TaskInfo, "ev/b.csv changed") {
				t.Errorf("on_changed error: %s %s", done.Lifecycle, done.TaskInfo)
			}
			if got := joined(h.ids("t")); got != "1,2,3,4,5" {
				t.Fatalf("after skip and error: ids %s", got)
			}
		})
	}
}

// withIn returns c with one in: key changed, through YAML as a user would.
func (h *harness) withIn(c connector.Config, key, value string) connector.Config {
	h.t.Helper()
	out := c
	switch key {
	case "on_changed":
		out.In.OnChanged = value
	case "mode":
		out.Out.Mode = value
	}
	return out
}

// TestIssueLimit: more files than total_file_count_limit are all loaded,
// each once, over several runs.
func TestIssueLimit(t *testing.T) {
	for _, d := range databases {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			for i := 1; i <= 5; i++ {
				// Keys in reverse time order: the newest key sorts first.
				h.put(fmt.Sprintf("lim/%d.csv", 9-i), []byte(fmt.Sprintf("id,v\n%d,x\n", i)))
			}
			c := h.setup("lim/", "  total_file_count_limit: 2\n")
			var loaded []int64
			for range 4 {
				loaded = append(loaded, h.ok("lim", "t", c).Files)
			}
			if fmt.Sprint(loaded) != "[2 2 1 0]" {
				t.Errorf("files per run %v, want [2 2 1 0]", loaded)
			}
			if got := joined(h.ids("t")); got != "1,2,3,4,5" {
				t.Errorf("ids %s", got)
			}
		})
	}
}

// TestIssueFailureLoadsNothing: a run that fails on its second file
// leaves neither rows nor ledger rows; the next run loads every file once.
func TestIssueFailureLoadsNothing(t *testing.T) {
	for _, d := range databases {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			h.put("f/a.csv", []byte("id,v\n1,x\n2,y\n"))
			c := h.setup("f/", "")
			h.put("f/b.csv", []byte("id,v\n3,x\nbad,y\n"))
			done := h.run("f", "t", c)
			if done.Lifecycle != s3bridge.Failed || !strings.Contains(done.TaskInfo, "f/b.csv") || !strings.Contains(done.TaskInfo, "line 3") {
				t.Fatalf("run over a bad row: %s %s", done.Lifecycle, done.TaskInfo)
			}
			if n := h.count(`SELECT count(*) FROM t`); n != 0 {
				t.Fatalf("%d rows after the failed run, want 0", n)
			}
			if n := h.ledger("f"); n != 0 {
				t.Fatalf("%d ledger rows after the failed run, want 0", n)
			}
			h.put("f/b.csv", []byte("id,v\n3,x\n4,y\n"))
			h.ok("f", "t", c)
			h.ok("f", "t", c)
			if got := joined(h.ids("t")); got != "1,2,3,4" {
				t.Errorf("ids %s", got)
			}
		})
	}
}

// TestIssueModes: replace swaps the rows; replace_on_new_data leaves the
// table alone when nothing is new.
func TestIssueModes(t *testing.T) {
	for _, d := range databases {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			h.put("m/a.csv", []byte("id,v\n1,x\n"))
			c := h.setup("m/", "")
			h.ok("m", "t", c)
			h.put("m/b.csv", []byte("id,v\n2,x\n"))
			h.ok("m", "t", h.withIn(c, "mode", connector.ModeReplaceOnNewData))
			if got := joined(h.ids("t")); got != "2" {
				t.Fatalf("replace_on_new_data with b new: ids %s", got)
			}
			if done := h.ok("m", "t", h.withIn(c, "mode", connector.ModeReplaceOnNewData)); !strings.Contains(done.TaskInfo, "no new data") {
				t.Errorf("replace_on_new_data with nothing new: %s", done.TaskInfo)
			}
			if got := joined(h.ids("t")); got != "2" {
				t.Fatalf("replace_on_new_data with nothing new: ids %s", got)
			}
		})
	}
}
