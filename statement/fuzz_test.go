package statement

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error is a
// *SyntaxError pointing inside the input, and that whatever parses renders
// (as Aurora text and as MariaDB's LOAD … LOCAL INFILE) to statements that
// parse back to an equal value. PostgresCopyOptions must either succeed or
// say which clause it can't express.
func FuzzParse(f *testing.F) {
	for _, s := range roundTripSeeds() {
		f.Add(s)
	}
	for _, s := range []string{
		"LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS TERMINATED BY ',' ENCLOSED BY '\"' ESCAPED BY '' IGNORE 1 LINES",
		"SELECT a INTO OUTFILE S3 's3://b/p' FROM t; -- x",
		"SELECT 1 INTO OUTFILE S3 X'7333' ENCRYPTION SSE_KMS 0x6b",
		"(((SELECT 1))) INTO OUTFILE S3 's3://b/p'",
		"WITH a AS (SELECT 1), b (x) AS (SELECT 2) SELECT * FROM a, b INTO OUTFILE S3 's3://b/p' FORMAT TEXT HEADER",
		"LOAD DATA FROM S3 's3://b/k' INTO TABLE t SET a = '\\'', b = `x``y`, c = @@session.x",
		"SELECT '\\\\' INTO OUTFILE S3 'a\\'b'",
		"LOAD DATA FROM S3 's3://b/k' INTO TABLE t (@`a``b`, @'c\\'d') SET e = @`a``b`-@'c\\'d'",
		"SELECT 1 --\nINTO OUTFILE S3 's3://b/p'",
		"SELECT 1 INTO OUTFILE S3 's3://b/p' FROM t /* unterminated",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		st, err := Parse(sql)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %v is %T, want *SyntaxError", sql, err, err)
			}
			if se.Pos < 0 || se.Pos > len(sql) || se.Line < 1 || se.Column < 1 {
				t.Fatalf("Parse(%q) error position %+v out of range", sql, se)
			}
			if st != nil {
				t.Fatalf("Parse(%q) returned %#v with an error", sql, st)
			}
			return
		}
		checkRoundTrip(t, st)
		switch st := st.(type) {
		case *Load:
			if _, err := st.PostgresCopyOptions(); err != nil {
				var ue *UnsupportedError
				if !errors.As(err, &ue) {
					t.Fatalf("PostgresCopyOptions error %v is %T, want *UnsupportedError", err, err)
				}
			}
		case *Export:
			// Whatever the query is, it no longer exports by itself.
			if _, err := ParseExport(st.Query); err == nil {
				t.Fatalf("Query %q of %q still holds an INTO OUTFILE S3 clause", st.Query, sql)
			}
		}
	})
}

// FuzzQuote checks that quoted identifiers and literals always read back
// as the original, and that MySQL literals end where they should even when
// backslashes are not escapes.
func FuzzQuote(f *testing.F) {
	for _, s := range quoteSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkQuotes(t, s)
	})
}
