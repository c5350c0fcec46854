package format

import "testing"

func TestText(t *testing.T) { runDecodeCases(t, "text", textCases()) }

func textCases() []decodeCase {
	enc := Options{FieldsTerminatedBy: ",", FieldsEnclosedBy: `"`}
	return []decodeCase{
		{name: "basic", in: "a\tb\n1\t2\n", want: []string{`1: "a" "b"`, `2: "1" "2"`}},
		{name: "no final terminator", in: "a\tb", want: []string{`1: "a" "b"`}},
		{name: "empty", in: "", want: nil},
		{name: "empty line is one empty field", in: "a\n\nb\n", want: []string{`1: "a"`, `2: ""`, `3: "b"`}},
		{name: "empty fields", in: "\t\t\n", want: []string{`1: "" "" ""`}},
		{name: "escapes", in: `x\0\b\n\r\t\Z\\y` + "\n", want: []string{`1: "x\x00\b\n\r\t\x1a\\y"`}},
		{name: "other escaped byte is itself", in: `\x\"\é` + "\n", want: []string{`1: "x\"é"`}},
		{name: "NULL only as whole field", in: "\\N\ta\\N\t\\NN\t\\\\N\n", want: []string{`1: NULL "aN" "NN" "\\N"`}},
		{name: "escaped delimiter", in: "a\\\tb\tc\n", want: []string{`1: "a\tb" "c"`}},
		{name: "escaped terminator", in: "a\\\nb\tc\nd\n", want: []string{`1: "a\nb" "c"`, `3: "d"`}},
		{name: "escape at end of input", in: `ab\`, want: []string{`1: "ab\\"`}},
		{name: "CR kept as MySQL does", in: "a\tb\r\n", want: []string{`1: "a" "b\r"`}},
		{name: "CRLF terminator", in: "a\tb\r\nc\rd\r\n", o: Options{LinesTerminatedBy: "\r\n"}, want: []string{`1: "a" "b"`, `2: "c\rd"`}},
		{name: "multi-byte terminators", in: "a||b|c\r\nd||\r\n", o: Options{FieldsTerminatedBy: "||", LinesTerminatedBy: "\r\n"},
			want: []string{`1: "a" "b|c"`, `2: "d" ""`}},
		{name: "escape keeps one byte of a long delimiter", in: `a\||b` + "\n", o: Options{FieldsTerminatedBy: "||"}, want: []string{`1: "a||b"`}},
		{name: "terminator that is not newline", in: "a,b;c,d;", o: Options{FieldsTerminatedBy: ",", LinesTerminatedBy: ";"},
			want: []string{`1: "a" "b"`, `1: "c" "d"`}},
		// The three examples of MySQL's LOAD DATA manual for ENCLOSED BY '"'.
		{name: "MySQL enclosed examples", in: `"The ""BIG"" boss"` + "\n" + `The "BIG" boss` + "\n" + `The ""BIG"" boss` + "\n", o: enc,
			want: []string{`1: "The \"BIG\" boss"`, `2: "The \"BIG\" boss"`, `3: "The \"\"BIG\"\" boss"`}},
		{name: "enclosed delimiter and newline", in: "\"a,b\",\"c\nd\"\ne\n", o: enc, want: []string{`1: "a,b" "c\nd"`, `3: "e"`}},
		{name: "quote not before a delimiter is data", in: `"a"b",c` + "\n", o: enc, want: []string{`1: "a\"b" "c"`}},
		{name: "escaped quote", in: `"a\"b"` + "\n", o: enc, want: []string{`1: "a\"b"`}},
		{name: "enclosed at end of input", in: `"a","b"`, o: enc, want: []string{`1: "a" "b"`}},
		{name: "NULL word", in: `NULL,"NULL",\N,"\N",null` + "\n", o: enc, want: []string{`1: NULL "NULL" NULL NULL "null"`}},
		{name: "NULL word without ENCLOSED BY", in: "NULL\n", want: []string{`1: "NULL"`}},
		{name: "escape equal to quote", in: `"a""b","c"d"` + "\n", o: Options{FieldsTerminatedBy: ",", FieldsEnclosedBy: `"`, FieldsEscapedBy: `"`},
			want: []string{`1: "a\"b" "c\"d"`}},
		{name: "unterminated quote", in: "a\n\"bc\nd", o: enc,
			want: []string{`1: "a"`, `error: line 2 column 1 (field "1"): unterminated quoted field`}},
		// The LINES STARTING BY example of MySQL's manual.
		{name: "lines starting by", in: "xxx\"abc\",1\nsomething xxx\"def\",2\n\"ghi\",3\n",
			o:    Options{FieldsTerminatedBy: ",", FieldsEnclosedBy: `"`, LinesStartingBy: "xxx"},
			want: []string{`1: "abc" "1"`, `2: "def" "2"`}},
		{name: "lines starting by, prefix split", in: "ab\nxyxyzq\nxyz", o: Options{LinesStartingBy: "xyz"},
			want: []string{`2: "q"`, `3: ""`}},
		{name: "ignore lines", in: "h1\th2\nx\ty\n", o: Options{IgnoreLines: 1}, want: []string{`2: "x" "y"`}},
		{name: "ignore lines honours escapes", in: "h\\\nh\nx\n", o: Options{IgnoreLines: 1}, want: []string{`3: "x"`}},
		{name: "ignore more lines than exist", in: "a\nb\n", o: Options{IgnoreLines: 5}, want: nil},
		{name: "header", in: "id\tname\n1\tbob\n", o: Options{Header: true}, want: []string{"cols: id,name", `2: "1" "bob"`}},
		{name: "header and ignore", in: "id\tname\njunk\n1\tbob\n", o: Options{Header: true, IgnoreLines: 2},
			want: []string{"cols: id,name", `3: "1" "bob"`}},
		{name: "header without the prefix", in: "id,name\nxxx1,bob\n", o: Options{Header: true, FieldsTerminatedBy: ",", LinesStartingBy: "xxx"},
			want: []string{"cols: id,name", `2: "1" "bob"`}},
		{name: "no escape", in: "a\\N\t\\N\n", o: Options{NoEscape: true}, want: []string{`1: "a\\N" "\\N"`}},
		{name: "null string", in: "-\t\\N\tx-\n", o: Options{NullString: "-"}, want: []string{`1: NULL "N" "x-"`}},
		{name: "byte order mark", in: "\xef\xbb\xbfa\tb\n", want: []string{`1: "a" "b"`}},
		{name: "invalid UTF-8 skips the record", in: "ok\n\xff\tb\nnext\n",
			want: []string{`1: "ok"`, `error: line 2 column 1 (field "1"): invalid UTF-8`, `3: "next"`}},
		{name: "invalid UTF-8 position", in: "a\tb\xffc\n", want: []string{`error: line 1 column 4 (field "2"): invalid UTF-8`}},
		{name: "invalid UTF-8 after escaped newline", in: "a\\\nb\t\xc3(\n", want: []string{`error: line 2 column 3 (field "2"): invalid UTF-8`}},
		{name: "binary charset", in: "\xff\tb\n", o: Options{Charset: "binary"}, want: []string{`1: "\xff" "b"`}},
		{name: "latin1", in: "caf\xe9\t\x80\x81\n", o: Options{Charset: "latin1"}, want: []string{`1: "café" "€\u0081"`}},
	}
}

func TestTSV(t *testing.T) { runDecodeCases(t, "tsv", tsvCases()) }

func tsvCases() []decodeCase {
	return []decodeCase{
		{name: "basic", in: "a\tb\n1\t2\n", want: []string{`1: "a" "b"`, `2: "1" "2"`}},
		{name: "escapes", in: `\b\f\n\r\t\v\\\Z\q` + "\n", want: []string{`1: "\b\f\n\r\t\v\\Zq"`}},
		{name: "octal", in: `\101\60x\0\1234` + "\n", want: []string{`1: "A0x\x00S4"`}},
		{name: "hex", in: `\x41\x4g\xg\x` + "\n", want: []string{`1: "A\x04gxgx"`}},
		{name: "hex UTF-8", in: `\xc3\xa9` + "\n", want: []string{`1: "é"`}},
		{name: "hex invalid UTF-8", in: "a\t\\xff\nb\n", want: []string{`error: line 1 column 3 (field "2"): invalid UTF-8 (from an escape sequence)`, `2: "b"`}},
		{name: "NULL", in: "\\N\t\\\\N\tN\n", want: []string{`1: NULL "\\N" "N"`}},
		{name: "CRLF", in: "a\tb\r\nc\r\n", want: []string{`1: "a" "b"`, `2: "c"`}},
		{name: "escaped CR kept", in: "a\\r\r\nb\\\r\n", want: []string{`1: "a\r"`, `2: "b\r"`}},
		{name: "CR inside kept", in: "a\rb\tc\n", want: []string{`1: "a\rb" "c"`}},
		{name: "header", in: "x\ty\r\n1\t2\r\n", o: Options{Header: true}, want: []string{"cols: x,y", `2: "1" "2"`}},
	}
}
