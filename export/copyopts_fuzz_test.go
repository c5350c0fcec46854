package export

import (
	"reflect"
	"strings"
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
		if controls(c) {
			// String renders control characters as E'\xHH', which COPY
			// decodes but this package's lexer does not (in E'…' strings
			// it knows \n \t \r \b \f only): no round trip to check.
			return
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

// controls reports whether a parsed value holds a control character
// other than those the lexer decodes in E'…' strings.
func controls(c *CopyOptions) bool {
	vals := append([]string{c.Encoding}, c.ForceQuote...)
	for _, v := range []*string{c.Delimiter, c.Null, c.Quote, c.Escape} {
		if v != nil {
			vals = append(vals, *v)
		}
	}
	for _, v := range vals {
		for _, r := range v {
			if (r < 0x20 || r == 0x7f) && !strings.ContainsRune("\n\t\r\b\f", r) {
				return true
			}
		}
	}
	return false
}

// FuzzParseSize: whatever parses is a positive byte count.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"6 GB", "64MB", "1", "1KiB", " 5 tb ", "0", "-1", "9223372036854775807", "8EB", "1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseSize(s); err == nil && n <= 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}
