package postgres_test

import (
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge"
)

// TestCopyOptionsRebuilt (issue 18, item 5): table_import_from_s3 runs the
// caller's COPY options with the function owner's rights, so they are read
// token by token and written again: words from the allow-list, every
// literal re-quoted by quote_literal. A literal that PostgreSQL's lexer
// and a pattern would read differently (E'\' ', which ended the old check's
// literal early and let "WHERE pg_temp.f()" run as the owner) can only
// come out as a literal.
func TestCopyOptionsRebuilt(t *testing.T) {
	in := open(t)
	defer in.Close()
	ctx := t.Context()
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	q := `SELECT "` + in.Schema() + `"._copy_options($1)`
	for _, c := range []struct{ in, want, err string }{
		{in: "(format csv, header true)", want: " ( format csv , header true )"},
		{in: "(FORMAT CSV, DELIMITER ';', NULL 'it''s')", want: " ( format csv , delimiter ';' , null 'it''s' )"},
		{in: `(format text, delimiter E'\t')`, want: " ( format text , delimiter '\t' )"},
		{in: `(format csv, null E'a\\b')`, want: ` ( format csv , null E'a\\b' )`},
		{in: `(format csv, null 'a\b')`, want: ` ( format csv , null E'a\\b' )`},
		{in: "DELIMITER ',' CSV HEADER", want: " delimiter ',' csv header"},
		{in: "", want: ""},
		{in: `(format text, delimiter ',', null E'\' ') WHERE pg_temp.f() -- '`, err: "WHERE is not an allowed COPY option"},
		{in: `(format csv, null E'\'') WHERE true --')`, err: "WHERE is not an allowed COPY option"},
		{in: "(format csv) WHERE (select 1) = 1", err: "WHERE is not an allowed COPY option"},
		{in: "(format csv); drop table t", err: "not one"},
		{in: "(format csv) -- x", err: "not one"},
		{in: "(format csv) /* x */", err: "not one"},
		{in: `(format csv, null E'\x41')`, err: `the escape \x is not supported`},
		{in: "(format csv, null $$x$$)", err: "not one"},
		{in: "(format csv, null 'unterminated)", err: "not one"},
	} {
		var got string
		err := in.DB().QueryRowContext(ctx, q, c.in).Scan(&got)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("options %q: %q, %v; want an error with %q", c.in, got, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("options %q: %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
