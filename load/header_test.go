package load_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/statement"
)

// abTable has two text columns: fields loaded into the wrong one would go
// in without an error, so only the values per column can tell.
const abTable = `CREATE TABLE ab (a VARCHAR(20), b VARCHAR(20))`

// abRows returns ab as "a|b" lines in order, NULL written as such.
func (h *harness) abRows() []string {
	h.t.Helper()
	rs, err := h.db.QueryContext(h.t.Context(), `SELECT a, b FROM ab ORDER BY a, b`)
	must(h.t, err)
	defer rs.Close()
	var out []string
	for rs.Next() {
		var a, b *string
		must(h.t, rs.Scan(&a, &b))
		str := func(p *string) string {
			if p == nil {
				return "NULL"
			}
			return *p
		}
		out = append(out, str(a)+"|"+str(b))
	}
	must(h.t, rs.Err())
	return out
}

// TestHeaderByName (issue 18, item 8): with a header, fields go to the
// columns the header names, whatever their order, on every database and in
// every delimited format, on the native bulk path and the decoded one; an
// explicit column list wins over the header; headerless files and Aurora's
// IGNORE 1 LINES stay positional; a header naming a column the table lacks
// fails at line 1 naming it, and changes nothing.
func TestHeaderByName(t *testing.T) {
	byName := []string{"A1|B1", "A2|B2"}
	cases := []struct {
		name string
		body string
		o    format.Options
		cols []string
		skip bool
		want []string
	}{
		{"csv b,a", "b,a\nB1,A1\nB2,A2\n", format.Options{Format: "csv", Header: true}, nil, false, byName},
		{"csv quoted", "\"b\",\"a\"\n\"B1\",A1\nB2,A2\n", format.Options{Format: "csv", Header: true}, nil, false, byName},
		{"csv case-insensitive", "B, A\nB1,A1\nB2,A2\n", format.Options{Format: "csv", Header: true}, nil, false, byName},
		{"csv quoted identifier", "\"\"\"b\"\"\",a\nB1,A1\nB2,A2\n", format.Options{Format: "csv", Header: true}, nil, false, byName},
		{"csv decoded (skip bad rows)", "b,a\nB1,A1\nB2,A2\n", format.Options{Format: "csv", Header: true}, nil, true, byName},
		{"csv decoded (lazy quotes)", "b,a\nB1,A1\nB2,A2\n", format.Options{Format: "csv", Header: true, LazyQuotes: true}, nil, false, byName},
		{"csv latin1", "b,a\nB1,A1\nB2,A2\n", format.Options{Format: "csv", Header: true, Charset: "latin1"}, nil, false, byName},
		{"tsv b a", "b\ta\nB1\tA1\nB2\tA2\n", format.Options{Format: "tsv", Header: true}, nil, false, byName},
		{"text b a", "b\ta\nB1\tA1\nB2\tA2\n", format.Options{Format: "text", Header: true}, nil, false, byName},
		{"csv one column named", "b\nB1\nB2\n", format.Options{Format: "csv", Header: true}, nil, false, []string{"NULL|B1", "NULL|B2"}},
		{"jsonl by name", `{"b":"B1","A":"A1"}` + "\n" + `{"a":"A2","b":"B2"}` + "\n", format.Options{Format: "jsonl"}, nil, false, byName},
		// The explicit list says which column each field is for: the
		// header is skipped, not read.
		{"explicit list wins", "b,a\nB1,A1\nB2,A2\n", format.Options{Format: "csv", Header: true}, []string{"a", "b"}, false, []string{"B1|A1", "B2|A2"}},
		{"headerless positional", "B1,A1\nB2,A2\n", format.Options{Format: "csv"}, nil, false, []string{"B1|A1", "B2|A2"}},
	}
	for _, d := range dbs {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			_, err := h.db.ExecContext(t.Context(), abTable)
			must(t, err)
			for i, c := range cases {
				uri := h.put(fmt.Sprintf("h%d.txt", i), []byte(c.body))
				h.ok(load.Params{Source: load.SourceFile, URI: uri, Table: "ab", Columns: c.cols, Options: c.o, Replace: true, SkipBadRows: c.skip})
				if got := h.abRows(); !slices.Equal(got, c.want) {
					t.Errorf("%s: got %v, want %v", c.name, got, c.want)
				}
			}

			// Numeric columns in another order than the table's.
			h.ok(load.Params{Source: load.SourceFile, URI: h.put("t.csv", []byte("amount,name,ID\n10.5,alpha,1\n20.25,\"be,ta\",2\n")), Table: "t", Options: csvOpts()})
			if got, want := h.rows(), []string{"1|alpha|10.5", "2|be,ta|20.25"}; !slices.Equal(got, want) {
				t.Errorf("t by header: got %v, want %v", got, want)
			}

			// Aurora's statement form: IGNORE 1 LINES skips the header and
			// the fields stay positional, as in Aurora.
			uri := h.put("aurora.csv", []byte("b,a\nB1,A1\nB2,A2\n"))
			text := "LOAD DATA FROM S3 '" + uri + "' INTO TABLE ab FIELDS TERMINATED BY ',' IGNORE 1 LINES"
			st, err := statement.ParseLoad(text)
			must(t, err)
			p, err := load.FromStatement(st, text, d.name == "mariadb")
			must(t, err)
			p.Replace = true
			h.ok(p)
			if got, want := h.abRows(), []string{"B1|A1", "B2|A2"}; !slices.Equal(got, want) {
				t.Errorf("Aurora IGNORE 1 LINES: got %v, want %v (positional)", got, want)
			}

			failing := []struct {
				name, body string
				want       []string
			}{
				{"unknown column", "a,zzz\nA9,Z9\n", []string{"unknown.csv", "line 1", `header field 2 "zzz"`, "no such column", "a, b"}},
				{"duplicate column", "a,A\nA9,Z9\n", []string{"duplicate.csv", "line 1", `header fields 1 "a" and 2 "A" both name column "a"`}},
				{"ambiguous-free quoted identifier", "\"\"\"A\"\"\",b\nA9,B9\n", []string{"quoted.csv", "line 1", `header field 1 "\"A\""`}},
			}
			for _, f := range failing {
				key := strings.Fields(f.name)[0] + ".csv"
				if f.name == "ambiguous-free quoted identifier" {
					key = "quoted.csv"
				}
				for _, skip := range []bool{false, true} {
					h.fails(load.Params{Source: load.SourceFile, URI: h.put(key, []byte(f.body)), Table: "ab", Options: csvOpts(), SkipBadRows: skip}, f.want...)
				}
				if got, want := h.abRows(), []string{"B1|A1", "B2|A2"}; !slices.Equal(got, want) {
					t.Errorf("%s: a failed load changed the table: %v", f.name, got)
				}
			}
		})
	}
}
