package connector_test

import (
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/connector"
)

// TestTimeColumn: out.time_column (--time-column) must name a long or
// timestamp column of the filtered rows; --auto-create-table makes it NOT
// NULL and indexes it, on each database.
func TestTimeColumn(t *testing.T) {
	cols := []connector.Column{{Name: "id", Type: connector.TypeLong}, {Name: "at", Type: connector.TypeTimestamp, Format: "%Y-%m-%d %H:%M:%S"}, {Name: "v", Type: connector.TypeString}}
	cfg := connector.Config{In: connector.In{Type: "s3", Bucket: "b", PathPrefix: new(string),
		Auth:   connector.Auth{AccessKeyID: "k", SecretAccessKey: "s"},
		Parser: connector.Parser{Type: "csv", Columns: cols}}}
	for _, tc := range []struct{ column, err string }{
		{"at", ""},
		{"id", ""},
		{"v", `out.time_column "v" is a string column; it must be long or timestamp`},
		{"nope", `out.time_column "nope" is not a column of the rows (columns: id, at, v)`},
	} {
		c := cfg
		c.Out.TimeColumn = tc.column
		err := c.Validate()
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("time_column %s: %v, want %q", tc.column, err, tc.err)
		}
	}
	for _, d := range databases {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			dialect := h.in.(connector.Ledger).DialectName()
			ddl, err := connector.CreateTableStatements(dialect, "", "tc", cols, "at")
			must(t, err)
			if len(ddl) != 2 || !strings.Contains(ddl[1], "CREATE INDEX IF NOT EXISTS") {
				t.Fatalf("statements: %q", ddl)
			}
			for range 2 { // IF NOT EXISTS: a second auto-create is harmless
				for _, stmt := range ddl {
					h.exec(stmt)
				}
			}
			indexes := map[string]string{
				"postgres": `SELECT count(*) FROM pg_indexes WHERE tablename = 'tc' AND indexname = 'tc_at_idx'`,
				"mysql":    `SELECT count(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'tc' AND index_name = 'tc_at_idx'`,
				"sqlite":   `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'tc_at_idx'`,
			}
			if n := h.count(indexes[dialect]); n != 1 {
				t.Errorf("%d indexes tc_at_idx, want 1", n)
			}
			if _, err := h.db.ExecContext(t.Context(), `INSERT INTO tc (id, at, v) VALUES (1, NULL, 'x')`); err == nil {
				t.Error("a NULL time column was stored")
			}
			if _, err := connector.CreateTableStatements(dialect, "", "tc", cols, "missing"); err == nil {
				t.Error("a time column that is not a column was taken")
			}
		})
	}
}

// TestRunTimeColumnNull: a row whose time column is NULL fails the run
// naming object, line and column, and loads nothing; with
// stop_on_invalid_record false it is skipped and logged.
func TestRunTimeColumnNull(t *testing.T) {
	t.Parallel()
	h := newHarness(t, databases[0])
	h.put("tn/a.csv", []byte("id,at\n1,2024-01-02 10:00:00\n2,\n3,2024-01-02 11:00:00\n"))
	c := h.setup("tn/", "")
	c.Out.TimeColumn = "at"
	done := h.run("tn", "t", c)
	if done.Lifecycle != s3bridge.Failed || !strings.Contains(done.TaskInfo, "tn/a.csv") || !strings.Contains(done.TaskInfo, "line 3") ||
		!strings.Contains(done.TaskInfo, `"at"`) || !strings.Contains(done.TaskInfo, "time column") {
		t.Fatalf("a NULL time column: %s %s", done.Lifecycle, done.TaskInfo)
	}
	if n := h.count(`SELECT count(*) FROM t`); n != 0 {
		t.Fatalf("%d rows after the failed run", n)
	}
	skip := false
	c.In.Parser.StopOnInvalidRecord = &skip
	h.ok("tn", "t", c)
	if got := joined(h.ids("t")); got != "1,3" {
		t.Errorf("with stop_on_invalid_record false: ids %s, want 1,3", got)
	}
}
