package statement

import (
	"reflect"
	"testing"
)

type loadTest struct {
	name string
	sql  string
	want Load
}

func runLoadTests(t *testing.T, tests []loadTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLoad(tt.sql)
			if err != nil {
				t.Fatalf("ParseLoad: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("ParseLoad(%q)\n got %#v\nwant %#v", tt.sql, *got, tt.want)
			}
		})
	}
}

// TestParseLoadAurora parses the examples of Aurora's documentation and the
// grammar's optional words.
func TestParseLoadAurora(t *testing.T) {
	tests := []loadTest{
		{
			name: "aurora example with user variable and SET",
			sql:  "LOAD DATA FROM S3 's3://mybucket/data.txt' INTO TABLE table1 (column1, @var1) SET column2 = @var1 * 100;",
			want: Load{URI: "s3://mybucket/data.txt", Table: "table1",
				Targets: []Target{{Name: "column1"}, {Name: "var1", Var: true}},
				Set:     []Assignment{{Column: "column2", Expr: "@var1 * 100"}}},
		},
		{
			name: "aurora example PREFIX with region URI",
			sql:  `LOAD DATA FROM S3 PREFIX 's3-us-west-2://my-data/employee_data' INTO TABLE employees FIELDS TERMINATED BY ',' LINES TERMINATED BY '\n' (ID, FIRSTNAME, LASTNAME, EMAIL);`,
			want: Load{Source: SourcePrefix, URI: "s3-us-west-2://my-data/employee_data", Table: "employees",
				Fields:  Fields{TerminatedBy: ",", TerminatedSet: true},
				Lines:   Lines{TerminatedBy: "\n", TerminatedSet: true},
				Targets: []Target{{Name: "ID"}, {Name: "FIRSTNAME"}, {Name: "LASTNAME"}, {Name: "EMAIL"}}},
		},
		{
			name: "aurora example MANIFEST",
			sql:  `LOAD DATA FROM S3 MANIFEST 's3-us-west-2://aurora-bucket/customer.manifest' INTO TABLE CUSTOMER FIELDS TERMINATED BY ',' LINES TERMINATED BY '\n' (ID, FIRSTNAME, LASTNAME, EMAIL);`,
			want: Load{Source: SourceManifest, URI: "s3-us-west-2://aurora-bucket/customer.manifest", Table: "CUSTOMER",
				Fields:  Fields{TerminatedBy: ",", TerminatedSet: true},
				Lines:   Lines{TerminatedBy: "\n", TerminatedSet: true},
				Targets: []Target{{Name: "ID"}, {Name: "FIRSTNAME"}, {Name: "LASTNAME"}, {Name: "EMAIL"}}},
		},
		{
			name: "aurora XML example",
			sql:  "LOAD XML FROM S3 's3://mybucket/employees.xml' INTO TABLE employees ROWS IDENTIFIED BY '<employee>';",
			want: Load{XML: true, URI: "s3://mybucket/employees.xml", Table: "employees", RowsIdentifiedBy: "<employee>"},
		},
		{
			name: "XML defaults to <row>",
			sql:  "load xml s3 file 's3://b/k.xml' into table t",
			want: Load{XML: true, URI: "s3://b/k.xml", Table: "t", RowsIdentifiedBy: "<row>"},
		},
		{
			name: "FILE keyword and no FROM",
			sql:  "LOAD DATA S3 FILE 's3://b/k' INTO TABLE t",
			want: Load{URI: "s3://b/k", Table: "t"},
		},
	}
	runLoadTests(t, tests)
}

// TestParseLoadClauses covers every clause.
func TestParseLoadClauses(t *testing.T) {
	tests := []loadTest{
		{
			name: "every LOAD DATA clause",
			sql: `LOAD DATA FROM S3 's3-eu-west-1://b/k.csv' REPLACE INTO TABLE db.tbl PARTITION (p0, p1)
				CHARACTER SET 'UTF8MB4'
				COLUMNS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY ''
				LINES STARTING BY 'xx' TERMINATED BY '\r\n'
				IGNORE 1 ROWS (a, ` + "`b c`" + `, @v) SET c = UPPER(@v), d := CONCAT(a, ',', @v), e = DEFAULT`,
			want: Load{URI: "s3-eu-west-1://b/k.csv", OnDuplicate: OnDuplicateReplace, Schema: "db", Table: "tbl",
				Partitions: []string{"p0", "p1"}, Charset: "utf8mb4",
				Fields:      Fields{TerminatedBy: ",", EnclosedBy: `"`, OptionallyEnclosed: true, TerminatedSet: true, EnclosedSet: true, EscapedSet: true},
				Lines:       Lines{StartingBy: "xx", TerminatedBy: "\r\n", StartingSet: true, TerminatedSet: true},
				IgnoreLines: 1,
				Targets:     []Target{{Name: "a"}, {Name: "b c"}, {Name: "v", Var: true}},
				Set: []Assignment{{Column: "c", Expr: "UPPER(@v)"}, {Column: "d", Expr: "CONCAT(a, ',', @v)"},
					{Column: "e", Expr: "DEFAULT"}}},
		},
		{
			name: "every LOAD XML clause",
			sql:  "LOAD XML FROM S3 PREFIX 's3://b/x/' IGNORE INTO TABLE `d`.`t` PARTITION (p) CHARSET latin1 ROWS IDENTIFIED BY '<item>' IGNORE 2 LINES (f1, @f2) SET f3 = @f2",
			want: Load{XML: true, Source: SourcePrefix, URI: "s3://b/x/", OnDuplicate: OnDuplicateIgnore, Schema: "d", Table: "t",
				Partitions: []string{"p"}, Charset: "latin1", RowsIdentifiedBy: "<item>", IgnoreLines: 2,
				Targets: []Target{{Name: "f1"}, {Name: "f2", Var: true}},
				Set:     []Assignment{{Column: "f3", Expr: "@f2"}}},
		},
		{
			name: "FIELDS options in any order, ENCLOSED without OPTIONALLY",
			sql:  `LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS ESCAPED BY '\\' ENCLOSED BY '''' TERMINATED BY '\t' LINES TERMINATED BY '\n' STARTING BY ''`,
			want: Load{URI: "s3://b/k", Table: "t",
				Fields: Fields{TerminatedBy: "\t", EnclosedBy: "'", EscapedBy: `\`, TerminatedSet: true, EnclosedSet: true, EscapedSet: true},
				Lines:  Lines{TerminatedBy: "\n", TerminatedSet: true, StartingSet: true}},
		},
	}
	runLoadTests(t, tests)
}

// TestParseLoadLexical covers MySQL's lexical rules inside LOAD statements.
func TestParseLoadLexical(t *testing.T) {
	tests := []loadTest{
		{
			name: "hex and bit literals as strings",
			sql:  "LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS TERMINATED BY 0x2c ENCLOSED BY X'22' LINES TERMINATED BY b'1010'",
			want: Load{URI: "s3://b/k", Table: "t",
				Fields: Fields{TerminatedBy: ",", EnclosedBy: `"`, TerminatedSet: true, EnclosedSet: true},
				Lines:  Lines{TerminatedBy: "\n", TerminatedSet: true}},
		},
		{
			name: "adjacent strings concatenate",
			sql:  `LOAD DATA FROM S3 's3://b/' "dir/" 'key' INTO TABLE t`,
			want: Load{URI: "s3://b/dir/key", Table: "t"},
		},
		{
			name: "empty column list means all columns",
			sql:  "LOAD DATA FROM S3 's3://b/k' INTO TABLE t ()",
			want: Load{URI: "s3://b/k", Table: "t"},
		},
		{
			name: "quoted identifiers and variables",
			sql:  "LOAD DATA FROM S3 's3://b/k' INTO TABLE `my``db`.`tab le` (`col``1`, `ünï`, @`v 1`, @'v''2', @\"v3\", @v.4, cafe\u0301) SET `col``1` = @`v 1`",
			want: Load{URI: "s3://b/k", Schema: "my`db", Table: "tab le",
				Targets: []Target{{Name: "col`1"}, {Name: "ünï"}, {Name: "v 1", Var: true}, {Name: "v'2", Var: true},
					{Name: "v3", Var: true}, {Name: "v.4", Var: true}, {Name: "cafe\u0301"}},
				Set: []Assignment{{Column: "col`1", Expr: "@`v 1`"}}},
		},
		{
			name: "comments everywhere",
			sql: `/* lead */ LOAD -- one
DATA # two
FROM/*x*/S3 PREFIX's3://b/p'/**/INTO TABLE t -- three
FIELDS /* a */ TERMINATED /* b */ BY /* c */ ',' # d
(a /* e */, @b) SET a = /* dropped */ @b /* kept */ + 1 /* dropped */ ; -- after
/* trailing */`,
			want: Load{Source: SourcePrefix, URI: "s3://b/p", Table: "t",
				Fields:  Fields{TerminatedBy: ",", TerminatedSet: true},
				Targets: []Target{{Name: "a"}, {Name: "b", Var: true}},
				Set:     []Assignment{{Column: "a", Expr: "@b /* kept */ + 1"}}},
		},
		{
			name: "keywords in any case, table named like a keyword",
			sql:  "lOaD dAtA fRoM s3 'S3://B/K' rEpLaCe InTo TaBlE fields fields terminated by ';'",
			want: Load{URI: "S3://B/K", OnDuplicate: OnDuplicateReplace, Table: "fields",
				Fields: Fields{TerminatedBy: ";", TerminatedSet: true}},
		},
		{
			name: "SET expression with nested parentheses, strings and a comma in a string",
			sql:  `LOAD DATA FROM S3 's3://b/k' INTO TABLE t (@a) SET x = IF(@a = '', NULL, STR_TO_DATE(@a, '%d,%m')), y = 'a;b'`,
			want: Load{URI: "s3://b/k", Table: "t", Targets: []Target{{Name: "a", Var: true}},
				Set: []Assignment{{Column: "x", Expr: "IF(@a = '', NULL, STR_TO_DATE(@a, '%d,%m'))"}, {Column: "y", Expr: "'a;b'"}}},
		},
		{
			name: "IGNORE n LINES with big number",
			sql:  "LOAD DATA FROM S3 's3://b/k' INTO TABLE t IGNORE 9223372036854775807 LINES",
			want: Load{URI: "s3://b/k", Table: "t", IgnoreLines: 9223372036854775807},
		},
	}
	runLoadTests(t, tests)
}

// TestStringLiterals checks MySQL's string rules through the URI, which is
// kept verbatim.
func TestStringLiterals(t *testing.T) {
	tests := []struct {
		lit  string
		want string
	}{
		{`'plain'`, "plain"},
		{`'back\\slash'`, `back\slash`},
		{`'it\'s'`, "it's"},
		{`'it''s'`, "it's"},
		{`"say ""hi"""`, `say "hi"`},
		{`"a\"b"`, `a"b`},
		{`'a"b'`, `a"b`},
		{`"a'b"`, "a'b"},
		{`'\n\t\r\b'`, "\n\t\r\b"},
		{`'nul\0nul'`, "nul\x00nul"},
		{`'ctrl\Z'`, "ctrl\x1a"},
		{`'\N'`, "N"},
		{`'\x\y\q'`, "xyq"},
		{`'like\%\_'`, `like\%\_`},
		{`'raw
newline'`, "raw\nnewline"},
		{`'ünïcödé ✓'`, "ünïcödé ✓"},
		{`'a' 'b' "c"`, "abc"},
		{`X'7333'`, "s3"},
		{`x''`, ""},
		{`0x733`, "\x07\x33"},
		{`B'01110011'`, "s"},
		{`0b1110011`, "s"},
	}
	for _, tt := range tests {
		sql := "LOAD DATA FROM S3 " + tt.lit + " INTO TABLE t"
		l, err := ParseLoad(sql)
		if tt.want == "" {
			if err == nil || err.Error() != `line 1 column 19: empty S3 URI near "x'' INTO TABLE t"` {
				t.Errorf("ParseLoad(%q) error = %v, want empty S3 URI", sql, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseLoad(%q): %v", sql, err)
			continue
		}
		if l.URI != tt.want {
			t.Errorf("literal %s = %q, want %q", tt.lit, l.URI, tt.want)
		}
	}
}

func TestParseLoadErrors(t *testing.T) {
	tests := []struct {
		sql  string
		want string
	}{
		{"LOAD DATA FROM S3 's3://x' INTO TABEL t", `line 1 column 28: expected INTO TABLE near "INTO TABEL t"`},
		{"", "line 1 column 1: expected LOAD DATA or LOAD XML at end of statement"},
		{"LOAD JSON FROM S3 's3://x' INTO TABLE t", `line 1 column 6: expected DATA or XML after LOAD near "JSON FROM S3 's3://x' INTO TABLE t"`},
		{"LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE t", `line 1 column 11: only LOAD … FROM S3 is supported; LOCAL and INFILE name files on the client or server near "LOCAL INFILE '/etc/passwd' INTO TABLE t"`},
		{"LOAD DATA FROM 's3://x' INTO TABLE t", `line 1 column 11: expected FROM S3 near "FROM 's3://x' INTO TABLE t"`},
		{"LOAD DATA FROM S3 s3_uri INTO TABLE t", `line 1 column 19: expected S3 URI as a quoted string near "s3_uri INTO TABLE t"`},
		{"LOAD DATA FROM S3 '' INTO TABLE t", `line 1 column 19: empty S3 URI near "'' INTO TABLE t"`},
		{"LOAD DATA FROM S3 's3://x", `line 1 column 19: unterminated string literal near "'s3://x"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE `t", "line 1 column 39: unterminated quoted identifier near \"`t\""},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE ``", "line 1 column 39: empty quoted identifier near \"``\""},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t /* open", `line 1 column 41: unterminated comment near "/* open"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t /*!50000 IGNORE 1 LINES */", `line 1 column 41: executable comments /*! … */ are not supported near "/*!50000 IGNORE 1 LINES */"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t\x00", `line 1 column 40: NUL byte in statement near "\x00"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t FIELDS", "line 1 column 47: expected TERMINATED BY, ENCLOSED BY or ESCAPED BY after FIELDS at end of statement"},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t FIELDS TERMINATED BY ',' TERMINATED BY ';'", `line 1 column 66: duplicate TERMINATED BY in FIELDS near "TERMINATED BY ';'"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t FIELDS ENCLOSED BY '\"\"'", `line 1 column 60: FIELDS ENCLOSED BY takes a single-byte character or '' near "'\"\"'"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t FIELDS ESCAPED BY 'é'", `line 1 column 59: FIELDS ESCAPED BY takes a single-byte character or '' near "'é'"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t LINES", "line 1 column 46: expected STARTING BY or TERMINATED BY after LINES at end of statement"},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t LINES STARTING BY 'a' STARTING BY 'b'", `line 1 column 63: duplicate STARTING BY in LINES near "STARTING BY 'b'"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t LINES TERMINATED BY '\\n' FIELDS TERMINATED BY ','", `line 1 column 66: FIELDS is repeated or out of order; clauses go in the order [REPLACE|IGNORE] INTO TABLE [PARTITION] [CHARACTER SET] [FIELDS] [LINES] [IGNORE n LINES] [(columns)] [SET] near "FIELDS TERMINATED BY ','"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t IGNORE", `line 1 column 41: IGNORE is repeated or out of order; clauses go in the order [REPLACE|IGNORE] INTO TABLE [PARTITION] [CHARACTER SET] [FIELDS] [LINES] [IGNORE n LINES] [(columns)] [SET] near "IGNORE"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t IGNORE 1", "line 1 column 49: expected LINES or ROWS after IGNORE 1 at end of statement"},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t IGNORE 99999999999999999999 LINES", `line 1 column 48: number of lines 99999999999999999999 is out of range near "99999999999999999999 LINES"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t ROWS IDENTIFIED BY '<r>'", `line 1 column 41: ROWS IDENTIFIED BY is only allowed in LOAD XML near "ROWS IDENTIFIED BY '<r>'"`},
		{"LOAD XML FROM S3 's3://x' INTO TABLE t FIELDS TERMINATED BY ','", `line 1 column 40: FIELDS is not allowed in LOAD XML near "FIELDS TERMINATED BY ','"`},
		{"LOAD XML FROM S3 's3://x' INTO TABLE t LINES TERMINATED BY ','", `line 1 column 40: LINES is not allowed in LOAD XML near "LINES TERMINATED BY ','"`},
		{"LOAD XML FROM S3 's3://x' INTO TABLE t ROWS IDENTIFIED BY ''", `line 1 column 59: empty ROWS IDENTIFIED BY element near "''"`},
		{"LOAD XML FROM S3 's3://x' INTO TABLE t IGNORE 1 ROWS ROWS IDENTIFIED BY '<r>'", `line 1 column 54: ROWS IDENTIFIED BY is repeated or out of order; clauses go in the order [REPLACE|IGNORE] INTO TABLE [PARTITION] [CHARACTER SET] [ROWS IDENTIFIED BY] [IGNORE n ROWS] [(columns)] [SET] near "ROWS IDENTIFIED BY '<r>'"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t PARTITION ()", `line 1 column 52: expected partition name near ")"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t CHARACTER SET 'utf-8'", `line 1 column 55: invalid character set name "utf-8" near "'utf-8'"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t (a, 1)", `line 1 column 45: expected column name or @variable near "1)"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t (a, b", "line 1 column 46: expected \")\" at end of statement"},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t (@)", `line 1 column 42: expected column name or @variable near "@)"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t SET a", "line 1 column 46: expected = after SET a at end of statement"},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t SET a =", "line 1 column 48: expected expression at end of statement"},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t SET a = , b = 1", `line 1 column 49: expected expression near ", b = 1"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t SET a = f(1", "line 1 column 52: expected ) to close the expression at end of statement"},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t SET a = 1)", `line 1 column 50: unbalanced ) near ")"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t SET t.a = 1", `line 1 column 46: expected = after SET t near ".a = 1"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t; DROP TABLE t", `line 1 column 42: multiple statements are not allowed near "DROP TABLE t"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t SET a = 1; DROP TABLE t", `line 1 column 52: multiple statements are not allowed near "DROP TABLE t"`},
		{"LOAD DATA FROM S3 's3://x'\nINTO TABLE t\n  FIELDS TERMINATED BY X'2'", `line 3 column 24: invalid hexadecimal or bit literal near "X'2'"`},
		{"LOAD DATA FROM S3 's3://x' INTO TABLE t junk", `line 1 column 41: expected end of statement near "junk"`},
	}
	for _, tt := range tests {
		_, err := ParseLoad(tt.sql)
		if err == nil {
			t.Errorf("ParseLoad(%q) succeeded, want %s", tt.sql, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseLoad(%q)\n got error %s\nwant error %s", tt.sql, err, tt.want)
		}
		if _, ok := err.(*SyntaxError); !ok {
			t.Errorf("ParseLoad(%q) error is %T, want *SyntaxError", tt.sql, err)
		}
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	sql := "LOAD DATA FROM S3 's3://b/k'\r\n  INTO TABLE t\n  FIELDS TERMINATED BY ',' junk"
	_, err := ParseLoad(sql)
	se, ok := err.(*SyntaxError)
	if !ok {
		t.Fatalf("error %v is %T, want *SyntaxError", err, err)
	}
	want := SyntaxError{Pos: len(sql) - 4, Line: 3, Column: 28, Near: "junk", Msg: "expected end of statement"}
	if *se != want {
		t.Errorf("got %#v, want %#v", *se, want)
	}
}

func TestLoadHelpers(t *testing.T) {
	l, err := ParseLoad("LOAD XML FROM S3 's3://b/k' INTO TABLE t ROWS IDENTIFIED BY '<item>'")
	if err != nil {
		t.Fatal(err)
	}
	if got := l.RowElement(); got != "item" {
		t.Errorf("RowElement() = %q, want item", got)
	}
	l, err = ParseLoad("LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS ENCLOSED BY '\"'")
	if err != nil {
		t.Fatal(err)
	}
	gotF, gotL := l.Effective()
	wantF := Fields{TerminatedBy: "\t", EnclosedBy: `"`, EscapedBy: `\`, EnclosedSet: true}
	wantL := Lines{TerminatedBy: "\n"}
	if gotF != wantF || gotL != wantL {
		t.Errorf("Effective() = %#v, %#v, want %#v, %#v", gotF, gotL, wantF, wantL)
	}
	for s, want := range map[Source]string{SourceFile: "FILE", SourcePrefix: "PREFIX", SourceManifest: "MANIFEST"} {
		if s.String() != want {
			t.Errorf("Source(%d).String() = %q, want %q", s, s.String(), want)
		}
	}
}
