package statement

import (
	"errors"
	"reflect"
	"testing"
)

type exportTest struct {
	name string
	sql  string
	want Export
}

func runExportTests(t *testing.T, tests []exportTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseExport(tt.sql)
			if err != nil {
				t.Fatalf("ParseExport: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("ParseExport(%q)\n got %#v\nwant %#v", tt.sql, *got, tt.want)
			}
		})
	}
}

// TestParseExportQuery covers where the INTO clause stands and what Query
// keeps.
func TestParseExportQuery(t *testing.T) {
	tests := []exportTest{
		{
			name: "aurora example",
			sql:  `SELECT * FROM employees INTO OUTFILE S3 's3-us-west-2://aurora-select-into-s3-pdx/sample_employee_data' FIELDS TERMINATED BY ',' LINES TERMINATED BY '\n' MANIFEST ON OVERWRITE ON;`,
			want: Export{Query: "SELECT * FROM employees", URI: "s3-us-west-2://aurora-select-into-s3-pdx/sample_employee_data",
				Format: FormatText, Fields: Fields{TerminatedBy: ",", TerminatedSet: true},
				Lines: Lines{TerminatedBy: "\n", TerminatedSet: true}, Manifest: true, Overwrite: true},
		},
		{
			name: "INTO OUTFILE S3 inside a string literal",
			sql:  "SELECT id, name FROM t WHERE x = 'INTO OUTFILE S3' INTO OUTFILE S3 's3://b/p' FORMAT CSV HEADER;",
			want: Export{Query: "SELECT id, name FROM t WHERE x = 'INTO OUTFILE S3'", URI: "s3://b/p", Format: FormatCSV, Header: true},
		},
		{
			name: "INTO before FROM",
			sql:  "SELECT a, b INTO OUTFILE S3 's3://b/p' FORMAT PARQUET FROM t WHERE c > 1",
			want: Export{Query: "SELECT a, b FROM t WHERE c > 1", URI: "s3://b/p", Format: FormatParquet},
		},
		{
			name: "INTO before FROM keeps comments before it and drops those inside it",
			sql:  "SELECT a -- the a\n  INTO OUTFILE S3 's3://b/p' /* gone */ FROM t /* kept */ WHERE b = 'x' -- gone\n;",
			want: Export{Query: "SELECT a -- the a\n  FROM t /* kept */ WHERE b = 'x'", URI: "s3://b/p", Format: FormatText},
		},
		{
			name: "INTO glued to tokens",
			sql:  "SELECT(a)INTO OUTFILE S3's3://b/p'FROM t",
			want: Export{Query: "SELECT(a) FROM t", URI: "s3://b/p", Format: FormatText},
		},
	}
	runExportTests(t, tests)
}

// TestParseExportOptions covers every option of the INTO clause.
func TestParseExportOptions(t *testing.T) {
	tests := []exportTest{
		{
			name: "every option in Aurora's order",
			sql: `SELECT 1 INTO OUTFILE S3 's3://b/p' CHARACTER SET utf8mb4 FORMAT CSV HEADER
				FIELDS TERMINATED BY ';' OPTIONALLY ENCLOSED BY '"' ESCAPED BY '\\'
				LINES STARTING BY '>' TERMINATED BY '\r\n'
				MANIFEST OFF OVERWRITE ON ENCRYPTION SSE_KMS 'arn:aws:kms:us-east-1:1:key/k' PARTSIZE 104857600`,
			want: Export{Query: "SELECT 1", URI: "s3://b/p", Charset: "utf8mb4", Format: FormatCSV, Header: true,
				Fields: Fields{TerminatedBy: ";", EnclosedBy: `"`, EscapedBy: `\`, OptionallyEnclosed: true,
					TerminatedSet: true, EnclosedSet: true, EscapedSet: true},
				Lines:      Lines{StartingBy: ">", TerminatedBy: "\r\n", StartingSet: true, TerminatedSet: true},
				Overwrite:  true,
				Encryption: EncryptionSSEKMS, KMSKeyID: "arn:aws:kms:us-east-1:1:key/k", PartSize: 104857600},
		},
		{
			name: "options in any order, COLUMNS and CHARSET spellings",
			sql:  "select 1 into outfile s3 's3://b/p' overwrite on manifest on columns terminated by ',' charset LATIN1 format text encryption sse_s3",
			want: Export{Query: "select 1", URI: "s3://b/p", Charset: "latin1", Format: FormatText,
				Fields: Fields{TerminatedBy: ",", TerminatedSet: true}, Manifest: true, Overwrite: true, Encryption: EncryptionSSES3},
		},
		{
			name: "ENCRYPTION SSE_KMS without a key",
			sql:  "SELECT 1 INTO OUTFILE S3 's3://b/p' ENCRYPTION SSE_KMS MANIFEST ON",
			want: Export{Query: "SELECT 1", URI: "s3://b/p", Format: FormatText, Encryption: EncryptionSSEKMS, Manifest: true},
		},
		{
			name: "WITH query",
			sql:  "WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5), s AS MATERIALIZED (VALUES (1)) SELECT n FROM r INTO OUTFILE S3 's3://b/p'",
			want: Export{Query: "WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5), s AS MATERIALIZED (VALUES (1)) SELECT n FROM r", URI: "s3://b/p", Format: FormatText},
		},
		{
			name: "parenthesised UNION",
			sql:  "((SELECT a FROM t) UNION (SELECT a FROM u)) ORDER BY a LIMIT 10 INTO OUTFILE S3 's3://b/p'",
			want: Export{Query: "((SELECT a FROM t) UNION (SELECT a FROM u)) ORDER BY a LIMIT 10", URI: "s3://b/p", Format: FormatText},
		},
		{
			name: "subqueries, backquotes, variables and PostgreSQL casts stay verbatim",
			sql:  "SELECT `a b`, (SELECT max(x) FROM u WHERE u.id = t.id), @@version, c::text, \"dq\" FROM t FOR SYSTEM_TIME ALL INTO OUTFILE S3 's3://b/p'",
			want: Export{Query: "SELECT `a b`, (SELECT max(x) FROM u WHERE u.id = t.id), @@version, c::text, \"dq\" FROM t FOR SYSTEM_TIME ALL", URI: "s3://b/p", Format: FormatText},
		},
		{
			name: "leading and trailing comments dropped",
			sql:  "/* job 7 */\n-- export\nSELECT 1 INTO OUTFILE S3 's3://b/p' ; # done",
			want: Export{Query: "SELECT 1", URI: "s3://b/p", Format: FormatText},
		},
	}
	runExportTests(t, tests)
}

func TestParseExportRefuses(t *testing.T) {
	tests := []struct {
		sql  string
		want string
	}{
		{"", "line 1 column 1: empty statement at end of statement"},
		{";", `line 1 column 1: empty statement near ";"`},
		{"INSERT INTO t SELECT * FROM u INTO OUTFILE S3 's3://b/p'", `line 1 column 1: export needs a single SELECT statement, not INSERT near "INSERT INTO t SELECT * FROM u INTO OUTFI"`},
		{"UPDATE t SET a = 1", `line 1 column 1: export needs a single SELECT statement, not UPDATE near "UPDATE t SET a = 1"`},
		{"DELETE FROM t", `line 1 column 1: export needs a single SELECT statement, not DELETE near "DELETE FROM t"`},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t", `line 1 column 1: export needs a single SELECT statement, not LOAD near "LOAD DATA FROM S3 's3://b/k' INTO TABLE "`},
		{"SELECT 1 INTO OUTFILE S3 's3://b/p'; SELECT 2", `line 1 column 36: export needs a single SELECT statement; found more than one statement near "; SELECT 2"`},
		{"SELECT 1 INTO OUTFILE S3 's3://b/p';;", `line 1 column 36: export needs a single SELECT statement; found more than one statement near ";;"`},
		{"SELECT * FROM t FOR UPDATE", `line 1 column 17: an export only reads: locking clause FOR UPDATE is not allowed near "FOR UPDATE"`},
		{"SELECT * FROM t INTO OUTFILE S3 's3://b/p' FOR SHARE", `line 1 column 44: an export only reads: locking clause FOR SHARE is not allowed near "FOR SHARE"`},
		{"SELECT * FROM (SELECT * FROM t FOR NO KEY UPDATE) x INTO OUTFILE S3 's3://b/p'", `line 1 column 32: an export only reads: locking clause FOR NO KEY UPDATE is not allowed near "FOR NO KEY UPDATE) x INTO OUTFILE S3 's3"`},
		{"SELECT * FROM t LOCK IN SHARE MODE INTO OUTFILE S3 's3://b/p'", `line 1 column 17: an export only reads: locking clause LOCK IN SHARE MODE is not allowed near "LOCK IN SHARE MODE INTO OUTFILE S3 's3:/"`},
		{"SELECT 1 INTO @x", `line 1 column 10: SELECT … INTO variables or tables is not an export; use INTO OUTFILE S3 's3://…' near "INTO @x"`},
		{"SELECT a INTO @x FROM t INTO OUTFILE S3 's3://b/p'", `line 1 column 10: SELECT … INTO variables or tables is not an export; use INTO OUTFILE S3 's3://…' near "INTO @x FROM t INTO OUTFILE S3 's3://b/p"`},
		{"SELECT * INTO new_table FROM t", `line 1 column 10: SELECT … INTO variables or tables is not an export; use INTO OUTFILE S3 's3://…' near "INTO new_table FROM t"`},
		{"SELECT * FROM t INTO OUTFILE '/tmp/x'", `line 1 column 17: INTO OUTFILE without S3 writes a file on the database server; use INTO OUTFILE S3 's3://…' near "INTO OUTFILE '/tmp/x'"`},
		{"SELECT * FROM t INTO DUMPFILE '/tmp/x'", `line 1 column 17: INTO DUMPFILE is not supported; use INTO OUTFILE S3 's3://…' near "INTO DUMPFILE '/tmp/x'"`},
		{"SELECT * FROM t INTO OUTFILE S3 's3://b/p' INTO OUTFILE S3 's3://b/q'", `line 1 column 44: only one INTO OUTFILE S3 clause is allowed near "INTO OUTFILE S3 's3://b/q'"`},
		{"(SELECT * FROM t INTO OUTFILE S3 's3://b/p')", `line 1 column 18: INTO is only allowed at the top level of the query, not inside parentheses near "INTO OUTFILE S3 's3://b/p')"`},
		{"SELECT * FROM t", "line 1 column 16: expected INTO OUTFILE S3 's3://…' at end of statement"},
		{"SELECT * FROM t INTO OUTFILE S3", "line 1 column 32: expected S3 URI as a quoted string at end of statement"},
		{"SELECT * FROM t INTO OUTFILE S3 ''", `line 1 column 33: empty S3 URI near "''"`},
		{"SELECT * FROM t INTO OUTFILE S3 's3://b/p' WHERE a = 1", `line 1 column 44: expected FROM or the end of the statement after INTO OUTFILE S3 options near "WHERE a = 1"`},
		{"SELECT * FROM t INTO OUTFILE S3 's3://b/p' MANIFEST YES", `line 1 column 53: expected ON or OFF after MANIFEST near "YES"`},
		{"SELECT * FROM t INTO OUTFILE S3 's3://b/p' MANIFEST ON MANIFEST OFF", `line 1 column 56: duplicate MANIFEST clause near "MANIFEST OFF"`},
		{"SELECT * FROM t INTO OUTFILE S3 's3://b/p' FORMAT JSON", `line 1 column 51: expected CSV, TEXT or PARQUET after FORMAT near "JSON"`},
		{"SELECT * FROM t INTO OUTFILE S3 's3://b/p' FORMAT PARQUET HEADER", `line 1 column 59: HEADER applies to FORMAT CSV and FORMAT TEXT only near "HEADER"`},
		{"SELECT * FROM t INTO OUTFILE S3 's3://b/p' FIELDS TERMINATED BY ',' FORMAT PARQUET", `line 1 column 44: FIELDS does not apply to FORMAT PARQUET near "FIELDS TERMINATED BY ',' FORMAT PARQUET"`},
		{"SELECT * FROM t INTO OUTFILE S3 's3://b/p' FORMAT PARQUET CHARACTER SET latin1", `line 1 column 59: CHARACTER SET does not apply to FORMAT PARQUET near "CHARACTER SET latin1"`},
		{"SELECT * FROM t INTO OUTFILE S3 's3://b/p' ENCRYPTION AES", `line 1 column 55: expected ON, OFF, SSE_S3 or SSE_KMS after ENCRYPTION near "AES"`},
		{"SELECT * FROM t INTO OUTFILE S3 's3://b/p' ENCRYPTION SSE_KMS ''", `line 1 column 63: empty KMS key id near "''"`},
		{"SELECT * FROM t INTO OUTFILE S3 's3://b/p' PARTSIZE 0", `line 1 column 53: PARTSIZE must be positive near "0"`},
		{"SELECT * FROM t INTO OUTFILE S3 's3://b/p' PARTSIZE 1GB", `line 1 column 53: expected PARTSIZE in bytes near "1GB"`},
		{"SELECT (1 INTO OUTFILE S3 's3://b/p'", `line 1 column 8: unclosed ( near "(1 INTO OUTFILE S3 's3://b/p'"`},
		{"SELECT 1) INTO OUTFILE S3 's3://b/p'", `line 1 column 9: unbalanced ) near ") INTO OUTFILE S3 's3://b/p'"`},
		{"WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d INTO OUTFILE S3 's3://b/p'", `line 1 column 12: an export only reads: WITH may name queries only, not DELETE near "DELETE FROM t RETURNING *) SELECT * FROM"`},
		{"WITH x AS (SELECT 1) UPDATE t SET a = 1", `line 1 column 22: export needs a single SELECT statement, not UPDATE near "UPDATE t SET a = 1"`},
		{"WITH x AS (SELECT 1)", "line 1 column 21: export needs a single SELECT statement at end of statement"},
		{"WITH x (SELECT 1) SELECT 1", `line 1 column 19: expected AS in WITH near "SELECT 1"`},
		{"(UPDATE t SET a = 1)", `line 1 column 2: export needs a single SELECT statement, not UPDATE near "UPDATE t SET a = 1)"`},
		{"SELECT /*! SQL_NO_CACHE */ 1 INTO OUTFILE S3 's3://b/p'", `line 1 column 8: executable comments /*! … */ are not supported near "/*! SQL_NO_CACHE */ 1 INTO OUTFILE S3 's"`},
		{"SELECT 1 /*M!100000 FOR UPDATE */ INTO OUTFILE S3 's3://b/p'", `line 1 column 10: executable comments /*! … */ are not supported near "/*M!100000 FOR UPDATE */ INTO OUTFILE S3"`},
	}
	for _, tt := range tests {
		_, err := ParseExport(tt.sql)
		if err == nil {
			t.Errorf("ParseExport(%q) succeeded, want %s", tt.sql, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseExport(%q)\n got error %s\nwant error %s", tt.sql, err, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	st, err := Parse("LOAD DATA FROM S3 's3://b/k' INTO TABLE t")
	if _, ok := st.(*Load); err != nil || !ok {
		t.Errorf("Parse(LOAD …) = %T, %v; want *Load", st, err)
	}
	st, err = Parse("(SELECT 1) INTO OUTFILE S3 's3://b/p'")
	if _, ok := st.(*Export); err != nil || !ok {
		t.Errorf("Parse(SELECT …) = %T, %v; want *Export", st, err)
	}
	for sql, want := range map[string]string{
		"  ":                          "line 1 column 1: empty statement at end of statement",
		"CALL x()":                    `line 1 column 1: unsupported statement: expected LOAD DATA FROM S3, LOAD XML FROM S3 or SELECT … INTO OUTFILE S3 near "CALL x()"`,
		"LOAD DATA FROM S3 's3://b/'": "line 1 column 28: expected INTO TABLE at end of statement",
		"SELECT 1":                    "line 1 column 9: expected INTO OUTFILE S3 's3://…' at end of statement",
	} {
		st, err := Parse(sql)
		if st != nil {
			t.Errorf("Parse(%q) returned %#v with its error; want a nil Statement", sql, st)
		}
		if err == nil || err.Error() != want {
			t.Errorf("Parse(%q) error = %v, want %s", sql, err, want)
		}
	}
}

func TestAmbiguousDashes(t *testing.T) {
	for _, sql := range []string{
		"SELECT a--INTO OUTFILE S3 's3://b/p'\nFROM t",
		"SELECT 1 INTO OUTFILE S3 's3://b/p' ---x\n",
	} {
		_, err := Parse(sql)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Msg != `"--" must be followed by a space to start a comment (write "- -" for two minus signs)` {
			t.Errorf("Parse(%q) error = %v, want the ambiguous -- error", sql, err)
		}
	}
}
