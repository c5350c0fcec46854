package load_test

import (
	"database/sql"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/postgres"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/statement"
)

// FuzzQuoteLiteralPG (issue 18, item 5): every literal the loader writes
// into SQL (COPY's options go over the simple protocol, where nothing is a
// parameter) reads back as exactly the value, whether the session has
// standard_conforming_strings on or off: under off a backslash in a plain
// '…' literal escapes, so a hand-quoted `\` could end the literal early. A
// value PostgreSQL text can't hold (NUL, invalid UTF-8) must be refused,
// never read back as something else.
func FuzzQuoteLiteralPG(f *testing.F) {
	for _, s := range []string{"", "plain", "'", "''", `\`, `\\`, `\'`, `\''`, `'\`, "a\\", "E'x'", "\n", "\r\n", "\t",
		"\b\f\v", "\x00", "a\x00b", "\x01", "\x1a", "\x7f", "\x012", "é", "日本語", "\u2028", "😀", "\xff", "'; DROP TABLE t; --",
		"$$", "$q$", `\N`, `\x41`, `\101`, "\\\n'"} {
		f.Add(s)
	}
	u := testenv.Postgres(f)
	conns := map[string]*pgx.Conn{}
	for _, scs := range []string{"on", "off"} {
		cfg, err := pgx.ParseConfig(u)
		must(f, err)
		cfg.RuntimeParams["standard_conforming_strings"] = scs
		conn, err := pgx.ConnectConfig(f.Context(), cfg)
		must(f, err)
		f.Cleanup(func() { conn.Close(f.Context()) })
		if got := conn.PgConn().ParameterStatus("standard_conforming_strings"); got != scs {
			f.Fatalf("standard_conforming_strings is %q, want %q", got, scs)
		}
		conns[scs] = conn
	}
	f.Fuzz(func(t *testing.T, v string) {
		q := "SELECT " + statement.QuoteLiteralPG(v)
		refuse := strings.ContainsRune(v, 0) || !utf8.ValidString(v)
		for scs, conn := range conns {
			res, err := conn.PgConn().Exec(t.Context(), q).ReadAll()
			if refuse {
				if err == nil {
					t.Errorf("scs=%s: %q: %s was accepted, want PostgreSQL's refusal", scs, v, q)
				}
				continue
			}
			if err != nil {
				t.Fatalf("scs=%s: %q: %s: %v", scs, v, q, err)
			}
			if got := string(res[0].Rows[0][0]); got != v {
				t.Errorf("scs=%s: %s reads back %q, want %q", scs, q, got, v)
			}
		}
	})
}

// TestCopyOptionsQuoting: a CSV load whose NULL string, escape and quote
// hold a backslash and a single quote goes through PostgreSQL's own COPY
// parser (the native path) with the right rows, with
// standard_conforming_strings off (set for the test's database once the
// instance is attached, so the load's own connection has it) as well as
// on.
func TestCopyOptionsQuoting(t *testing.T) {
	body := "id,name,amount\n" +
		"1,\\N,1\n" + // the NULL string
		"2,N,2\n" + // not NULL: \N must not have become N
		"3,'it\\'s',3\n" + // the escape before the quote
		"4,'a\\\\b',4\n" // the escape before itself
	o := format.Options{Format: "csv", Header: true, NullString: `\N`, FieldsEscapedBy: `\`, FieldsEnclosedBy: "'"}
	want := []string{"1|NULL|1", "2|N|2", "3|it's|3", `4|a\b|4`}
	for _, scs := range []string{"on", "off"} {
		t.Run("standard_conforming_strings="+scs, func(t *testing.T) {
			t.Parallel()
			var u string
			d := db{"postgres", func(t *testing.T) (instance.Instance, *sql.DB) {
				u = testenv.Postgres(t)
				in, err := postgres.Open(t.Context(), u)
				must(t, err)
				return in, in.DB()
			}, `CREATE TABLE t (id integer, name text, amount numeric)`}
			h := newHarness(t, d)
			_, err := h.db.ExecContext(t.Context(), "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET standard_conforming_strings = "+scs+"', current_database()); END $$")
			must(t, err)
			conn, err := pgx.Connect(t.Context(), u)
			must(t, err)
			defer conn.Close(t.Context())
			if got := conn.PgConn().ParameterStatus("standard_conforming_strings"); got != scs {
				t.Fatalf("a new connection has standard_conforming_strings %q, want %q", got, scs)
			}
			h.ok(load.Params{Source: load.SourceFile, URI: h.put("hostile.csv", []byte(body)), Table: "t", Options: o})
			if got := h.rows(); !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}
