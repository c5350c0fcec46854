package export_test

import (
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/export"
)

// TestErrorCodeIsTheServersSQLState (issue 20, item 7): an export the
// database refuses stores the server's own SQLSTATE as its error code, on
// MariaDB as on PostgreSQL (the driver's error keeps its structure to the
// edge), not the catch-all "error".
func TestErrorCodeIsTheServersSQLState(t *testing.T) {
	for _, c := range []struct{ db, query, code string }{
		{"postgres", "SELECT * FROM no_such_table", "42P01"},
		{"mariadb", "SELECT * FROM no_such_table", "42S02"},
		{"mariadb", "SELECT no_such_column FROM t", "42S22"},
	} {
		t.Run(c.db+" "+c.code, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dbNamed(c.db))
			h.exec(dbNamed(c.db).table(3)...)
			done := h.fails(export.Params{Query: c.query, URI: h.uri("out/x"), Format: export.FormatCSV})
			if done.ErrorCode != c.code {
				t.Errorf("%s: error_code %q, want %q (%s)", c.query, done.ErrorCode, c.code, done.TaskInfo)
			}
			if done.Lifecycle != s3bridge.Failed {
				t.Errorf("lifecycle %s", done.Lifecycle)
			}
		})
	}
}
