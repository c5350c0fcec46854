package format

import "testing"

func TestCSV(t *testing.T) { runDecodeCases(t, "csv", csvCases()) }

func csvCases() []decodeCase {
	return []decodeCase{
		{name: "header and quoted delimiter", in: "id,name\n1,\"Smith, J\"\n", o: Options{Header: true},
			want: []string{"cols: id,name", `2: "1" "Smith, J"`}},
		{name: "embedded newline keeps line numbers", in: "\"a\nb\nc\",x\ny,\"\n\"\nz\n",
			want: []string{`1: "a\nb\nc" "x"`, `4: "y" "\n"`, `6: "z"`}},
		{name: "doubled quotes", in: `"a""b",c` + "\n", want: []string{`1: "a\"b" "c"`}},
		{name: "CRLF", in: "a,b\r\n\"c\",\"d\"\r\n\"e\r\nf\"\r\n", want: []string{`1: "a" "b"`, `2: "c" "d"`, `3: "e\r\nf"`}},
		{name: "CR inside a field", in: "a\rb,c\n", want: []string{`1: "a\rb" "c"`}},
		{name: "blank lines skipped", in: "a\n\n\r\nb\n\n", want: []string{`1: "a"`, `4: "b"`}},
		{name: "empty fields", in: ",,\na,\n", want: []string{`1: "" "" ""`, `2: "a" ""`}},
		{name: "empty quoted", in: `"",x`, want: []string{`1: "" "x"`}},
		{name: "no final newline", in: `a,"b"`, want: []string{`1: "a" "b"`}},
		{name: "null string", in: `NULL,"NULL",x,\N` + "\n", o: Options{NullString: "NULL"}, want: []string{`1: NULL "NULL" "x" "\\N"`}},
		{name: "null empty", in: `,"",a` + "\n", o: Options{NullEmpty: true}, want: []string{`1: NULL "" "a"`}},
		{name: "no null by default", in: ",\\N,NULL\n", want: []string{`1: "" "\\N" "NULL"`}},
		{name: "custom delimiter and quote", in: "'a;b';'it''s'\n", o: Options{FieldsTerminatedBy: ";", FieldsEnclosedBy: "'"},
			want: []string{`1: "a;b" "it's"`}},
		{name: "multi-byte delimiter", in: "a::b:c\n", o: Options{FieldsTerminatedBy: "::"}, want: []string{`1: "a" "b:c"`}},
		{name: "custom terminator", in: "a,b|c,d|", o: Options{LinesTerminatedBy: "|"}, want: []string{`1: "a" "b"`, `1: "c" "d"`}},
		{name: "escape", in: `"a\"b","c\\d","e\f",g\h` + "\n", o: Options{FieldsEscapedBy: `\`},
			want: []string{`1: "a\"b" "c\\d" "e\\f" "g\\h"`}},
		{name: "bare quote", in: "a\"b,c\nd\n",
			want: []string{`error: line 1 column 2 (field "1"): bare quote in unquoted field`, `2: "d"`}},
		{name: "space before quote", in: ` "a"` + "\n", want: []string{`error: line 1 column 2 (field "1"): bare quote in unquoted field`}},
		{name: "quote after closing quote", in: "x,\"a\"b,c\nd\n",
			want: []string{`error: line 1 column 6 (field "2"): unexpected character after closing quote`, `2: "d"`}},
		{name: "lazy quotes", in: `a"b,"c"d",e` + "\n", o: Options{LazyQuotes: true}, want: []string{`1: "a\"b" "c\"d" "e"`}},
		{name: "unterminated", in: "a\n\"bc\nd",
			want: []string{`1: "a"`, `error: line 2 column 1 (field "1"): unterminated quoted field`}},
		{name: "error names the header column", in: "id,price\n1,\"2\n", o: Options{Header: true},
			want: []string{"cols: id,price", `error: line 2 column 3 (field "price"): unterminated quoted field`}},
		{name: "header and ignore", in: "id\n# generated\n1\n", o: Options{Header: true, IgnoreLines: 2},
			want: []string{"cols: id", `3: "1"`}},
		{name: "ignore skips records", in: "\"h\n1\",h2\nx,y\n", o: Options{IgnoreLines: 1}, want: []string{`3: "x" "y"`}},
		{name: "byte order mark", in: "\xef\xbb\xbfid,name\n1,a\n", o: Options{Header: true}, want: []string{"cols: id,name", `2: "1" "a"`}},
		{name: "invalid UTF-8", in: "a,\"b\xff\"\nc\n", want: []string{`error: line 1 column 5 (field "2"): invalid UTF-8`, `2: "c"`}},
		{name: "windows-1252", in: "\x93q\x94,\xe9\n", o: Options{Charset: "cp1252"}, want: []string{`1: "“q”" "é"`}},
	}
}
