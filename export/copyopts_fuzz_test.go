package export

import (
	"reflect"
	"testing"
)

// FuzzParseCopyOptions feeds any text to the parser of aws_s3's options
// argument, which comes from SQL callers: no panic, and whatever parses
// renders (String, the text that reaches COPY) back to the same options,
// so no caller text reaches COPY other than as the values it parsed to.
func FuzzParseCopyOptions(f *testing.F) {
	for _, s := range []string{
		"", "format csv, header true, delimiter $$:$$", "format csv, delimiter $x$;$x$, quote '''', escape E'\\\\'",
		"format text, delimiter E'\\t', null 'NULL'", `format csv, force_quote (a, "Mixed Case")`, "format csv, force_quote *",
		"format parquet, compression zstd, max_file_size 64MB, numeric_as 'decimal(38,9)'", "encoding 'UTF8'",
		"format csv) to program 'rm -rf /'", "delimiter E'\\x41'", "null E'\\101'", "delimiter U&'\\0041'", `force_quote ("a""b")`,
		"format csv, header", "max_file_size 0", "delimiter $a$$a", "quote e'\\''", "delimiter '\x00'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCopyOptions(s)
		if err != nil {
			return
		}
		if c.Format != FormatText && c.Format != FormatCSV {
			return // jsonl and parquet never reach COPY
		}
		again, err := ParseCopyOptions(c.String())
		if err != nil {
			t.Fatalf("ParseCopyOptions(%q) renders %q, which does not parse: %v", s, c.String(), err)
		}
		// String leaves out s3bridge's own options.
		want := *c
		want.Compression, want.MaxFileSize, want.NumericAs = "", 0, ""
		if !reflect.DeepEqual(*again, want) {
			t.Fatalf("ParseCopyOptions(%q) = %+v renders %q = %+v", s, want, c.String(), *again)
		}
	})
}

// TestCopyOptionEscapes: E'…' strings decode as PostgreSQL decodes them,
// and a zero byte is refused as PostgreSQL refuses it.
func TestCopyOptionEscapes(t *testing.T) {
	tests := []struct {
		in, null string
		bad      bool
	}{
		{`null E'\x41BC'`, "ABC", false},
		{`null E'\101\102'`, "AB", false},
		{`null E'\u00e9t\U0001F600'`, "ét😀", false},
		{`null E'a\tb\nc'`, "a\tb\nc", false},
		{`null E'\q\\'`, `q\`, false},
		{`null E'\x4'`, "\x04", false},
		{`null E'\000'`, "", true},
		{`null E'\x00'`, "", true},
		{`null E'\u0000'`, "", true},
		{`null E'\ud800'`, "", true},
		{"null 'a\x00b'", "", true},
	}
	for _, tc := range tests {
		c, err := ParseCopyOptions("format text, " + tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%s: parsed as %q, want an error", tc.in, *c.Null)
			}
			continue
		}
		if err != nil || c.Null == nil || *c.Null != tc.null {
			t.Errorf("%s: got %v, %v; want %q", tc.in, c, err, tc.null)
		}
	}
}
