package connector_test

import (
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/connector"
)

// TestRunFiltered: add_filename and column filters reach the table: the
// object's key in its column, a column dropped, one added with its
// default; preview shows the same columns.
func TestRunFiltered(t *testing.T) {
	h := newHarness(t, databases[1])
	h.put("f/a.csv", []byte("id,name,secret\n1,ann,s1\n2,bob,s2\n"))
	h.put("f/b.csv", []byte("id,name,secret\n3,,s3\n"))
	c, err := connector.Guess(t.Context(), h.store, h.seed("f/", ""))
	must(t, err)
	c.Filters = []connector.Filter{
		{Type: connector.FilterTypeAddFilename, ColumnName: "src"},
		{Type: connector.FilterTypeColumn,
			Columns:    []connector.FilterColumn{{Name: "id"}, {Name: "name", Default: ptr("nobody")}, {Name: "src"}},
			AddColumns: []connector.FilterColumn{{Name: "origin", Type: connector.TypeString, Default: ptr("s3")}}},
	}
	must(t, c.Validate())
	cols, err := c.Columns()
	must(t, err)
	ddl, err := connector.CreateTableSQL(h.in.(connector.Ledger).DialectName(), "", "t", cols)
	must(t, err)
	h.exec(ddl)
	pv, err := connector.PreviewRows(t.Context(), h.store, c, 0)
	must(t, err)
	if len(pv.Columns) != 4 || len(pv.Rows) != 3 || pv.Rows[0][2] != "f/a.csv" {
		t.Errorf("preview: %v %v", pv.Columns, pv.Rows)
	}
	h.ok("filtered", "t", c)
	var got []string
	rs, err := h.db.QueryContext(t.Context(), `SELECT id || ':' || name || ':' || src || ':' || origin FROM t ORDER BY id`)
	must(t, err)
	defer rs.Close()
	for rs.Next() {
		var s string
		must(t, rs.Scan(&s))
		got = append(got, s)
	}
	must(t, rs.Err())
	if g := strings.Join(got, " "); g != "1:ann:f/a.csv:s3 2:bob:f/a.csv:s3 3:nobody:f/b.csv:s3" {
		t.Errorf("rows %s", g)
	}
}
