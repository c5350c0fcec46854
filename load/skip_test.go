package load_test

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/load"
)

// vTable is t with a short NOT NULL name, so a database rejects rows the
// decoder reads fine: too long (PostgreSQL and MariaDB; SQLite doesn't
// enforce lengths), NULL.
const vTable = `CREATE TABLE v (id INTEGER PRIMARY KEY, name VARCHAR(5) NOT NULL, amount DECIMAL(12,2))`

// badRows: line 3 is not a number for an integer column, line 5 has a NULL
// name, line 7 a name too long, line 8 repeats a key.
const badRows = "id,name,amount\n" + // 1
	"1,a,1\n" + // 2
	"notanumber,b,2\n" + // 3
	"3,c,3\n" + // 4
	"4,,4\n" + // 5: NULL (NullEmpty)
	"5,e,5\n" + // 6
	"6,toolongvalue,6\n" + // 7
	"3,dup,8\n" + // 8
	"9,i,9\n" // 9

func (h *harness) vRows() []string {
	h.t.Helper()
	rs, err := h.db.QueryContext(h.t.Context(), `SELECT id, name FROM v ORDER BY id`)
	must(h.t, err)
	defer rs.Close()
	var out []string
	for rs.Next() {
		var id int
		var name sql.NullString
		must(h.t, rs.Scan(&id, &name))
		out = append(out, fmt.Sprintf("%d|%s", id, name.String))
	}
	must(h.t, rs.Err())
	return out
}

// TestSkipBadRowsTheDatabaseRejects (issue 18, item 10): with SkipBadRows,
// rows whose values the database refuses (a type, NOT NULL, a length, a
// duplicate key) are skipped and reported with the object, the line in
// the file (the header is line 1), the column and the reason, on every
// database; the other rows load and the count excludes the skipped ones.
// Without it the load fails naming line 3 and changes nothing.
func TestSkipBadRowsTheDatabaseRejects(t *testing.T) {
	type bad struct {
		line   int
		column string
		reason string // by database
	}
	reasons := map[string][]bad{
		"postgres": {{3, "id", "invalid input syntax for type integer"}, {5, "name", "not-null constraint"},
			{7, "name", "value too long"}, {8, "", "duplicate key"}},
		"mariadb": {{3, "id", "Incorrect integer value"}, {5, "name", "NULL supplied to NOT NULL column"},
			{7, "name", "Data truncated"}, {8, "", "Duplicate entry"}},
		"sqlite": {{3, "id", "is not an integer"}, {5, "name", "NOT NULL constraint failed"}, {8, "id", "UNIQUE constraint failed"}},
	}
	o := format.Options{Format: "csv", Header: true, NullEmpty: true}
	for _, d := range dbs {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			_, err := h.db.ExecContext(t.Context(), vTable)
			must(t, err)
			h.ok(load.Params{Source: load.SourceFile, URI: h.put("seed.csv", []byte("id,name,amount\n100,old,1\n")), Table: "v", Options: o})
			uri := h.put("v.csv", []byte(badRows))

			h.fails(load.Params{Source: load.SourceFile, URI: uri, Table: "v", Options: o}, "v.csv", "line 3", `"id"`)
			if got := h.vRows(); !slices.Equal(got, []string{"100|old"}) {
				t.Errorf("a failed load changed the table: %v", got)
			}

			done := h.ok(load.Params{Source: load.SourceFile, URI: uri, Table: "v", Options: o, SkipBadRows: true})
			want := []string{"1|a", "3|c", "5|e", "9|i", "100|old"}
			if d.name == "sqlite" {
				want = []string{"1|a", "3|c", "5|e", "6|toolongvalue", "9|i", "100|old"}
			}
			if got := h.vRows(); !slices.Equal(got, want) {
				t.Errorf("rows: got %v, want %v", got, want)
			}
			wantInfo := fmt.Sprintf("%d rows imported", len(want)-1)
			wantBad := fmt.Sprintf("%d bad rows skipped", len(reasons[d.name]))
			if !strings.Contains(done.TaskInfo, wantInfo) || !strings.Contains(done.TaskInfo, wantBad) {
				t.Errorf("task_info %q, want %q and %q", done.TaskInfo, wantInfo, wantBad)
			}
			log, err := h.in.TaskLog(t.Context(), done.ID)
			must(t, err)
			var skipped []string
			for _, l := range log {
				if l.Level == s3bridge.LevelWarn {
					skipped = append(skipped, l.Message)
				}
			}
			if len(skipped) != len(reasons[d.name]) {
				t.Errorf("skipped rows reported: %q, want %d", skipped, len(reasons[d.name]))
			}
			for _, b := range reasons[d.name] {
				at := fmt.Sprintf("line %d", b.line)
				if b.column != "" {
					at += fmt.Sprintf(" (field %q)", b.column)
				}
				found := false
				for _, m := range skipped {
					found = found || strings.Contains(m, uri) && strings.Contains(m, at+": ") && strings.Contains(m, b.reason)
				}
				if !found {
					t.Errorf("no report of %s with %q: %q", at, b.reason, skipped)
				}
			}
		})
	}
}

// TestDecodedErrorLines: when the database refuses a row of a file it
// can't parse itself (decoded and re-encoded), the error names the row's
// line in the file, not its place in the re-encoded stream; here a JSON
// array whose second object starts on line 5.
func TestDecodedErrorLines(t *testing.T) {
	body := "[\n  {\"id\": 1, \"name\": \"a\", \"amount\": 1},\n\n\n  {\"id\": \"notanumber\",\n   \"name\": \"b\", \"amount\": 2}\n]\n"
	for _, d := range dbs {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			h.fails(load.Params{Source: load.SourceFile, URI: h.put("a.json", []byte(body)), Table: "t", Options: format.Options{Format: "json"}}, "a.json", "line 5")
			if got := h.rows(); len(got) != 0 {
				t.Errorf("a failed load changed the table: %v", got)
			}
		})
	}
}
