package export

import (
	"reflect"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/statement"
)

func TestParseCopyOptions(t *testing.T) {
	tests := []struct {
		in   string
		want string // String(); "" for an error
	}{
		{"", "FORMAT text"},
		{"format csv", "FORMAT csv"},
		{"FORMAT CSV, HEADER", "FORMAT csv, HEADER true"},
		{"format csv, header true, delimiter $$:$$", "FORMAT csv, HEADER true, DELIMITER ':'"},
		{"format csv, delimiter $x$;$x$, quote '''', escape E'\\\\'", `FORMAT csv, DELIMITER ';', QUOTE '''', ESCAPE E'\\'`},
		{"format text, delimiter E'\\t', null 'NULL'", `FORMAT text, DELIMITER E'\t', NULL 'NULL'`},
		{"format csv, force_quote *", "FORMAT csv, FORCE_QUOTE *"},
		{`format csv, force_quote (a, "Mixed Case")`, `FORMAT csv, FORCE_QUOTE ("a", "Mixed Case")`},
		{"format csv, header false", "FORMAT csv"},
		{"format parquet, compression zstd, max_file_size 64MB", "FORMAT parquet"},
		{"encoding 'UTF8'", "FORMAT text, ENCODING 'UTF8'"},
		{"format binary", ""},
		{"format csv; drop table t", ""},
		{"format csv) to program 'rm -rf /'", ""},
		{"where true", ""},
		{"freeze", ""},
		{"format text, quote '\"'", ""},
		{"format parquet, header", ""},
		{"delimiter 'ab'", ""},
		{"format csv, format text", ""},
		{"compression lzma", ""},
		{"delimiter 'unterminated", ""},
		{"format parquet, numeric_as 'decimal(38,9)'", "FORMAT parquet"},
		{"format csv, numeric_as 'decimal(38,9)'", ""},
		{"format parquet, numeric_as 'float'", ""},
	}
	for _, tt := range tests {
		c, err := ParseCopyOptions(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("ParseCopyOptions(%q) = %q, want an error", tt.in, c.String())
		case tt.want != "" && err != nil:
			t.Errorf("ParseCopyOptions(%q): %v", tt.in, err)
		case tt.want != "" && c.String() != tt.want:
			t.Errorf("ParseCopyOptions(%q).String() = %q, want %q", tt.in, c.String(), tt.want)
		}
	}
	c, err := ParseCopyOptions("format parquet, compression zstd, max_file_size 64MB, numeric_as $$decimal(20,4)$$")
	if err != nil || c.Compression != CompressZstd || c.MaxFileSize != 64<<20 || c.NumericAs != "decimal(20,4)" {
		t.Errorf("s3bridge's options: %+v, %v", c, err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "6GB": 6 << 30, "64 MiB": 64 << 20, "10k": 10 << 10, "5b": 5} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-1", "lots", "1PB", "99999999999999999999"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q): want an error", bad)
		}
	}
}

// TestCopyOptionsFor: COPY takes over only when it writes exactly what the
// encoder would.
func TestCopyOptionsFor(t *testing.T) {
	tests := []struct {
		format string
		fields Fields
		want   string // "" when COPY can't
	}{
		{FormatCSV, Fields{}, `FORMAT csv, DELIMITER ',', QUOTE '"', ESCAPE '"'`},
		{FormatCSV, Fields{EnclosedBy: ptr("'")}, `FORMAT csv, DELIMITER ',', QUOTE '''', ESCAPE '''', FORCE_QUOTE *`},
		{FormatText, Fields{}, `FORMAT text, DELIMITER E'\t'`},
		{FormatText, Fields{TerminatedBy: ptr("|")}, `FORMAT text, DELIMITER '|'`},
		{FormatText, Fields{TerminatedBy: ptr("||")}, ""},
		{FormatText, Fields{EscapedBy: ptr("")}, ""},
		{FormatText, Fields{EnclosedBy: ptr(`"`)}, ""},
		{FormatCSV, Fields{LinesTerminatedBy: ptr("\r\n")}, ""},
		{FormatCSV, Fields{LinesStartingBy: ptr(">")}, ""},
	}
	for _, tt := range tests {
		d, err := newDelimiter(tt.format, tt.fields)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := copyOptionsFor(tt.format, d, false)
		got := ""
		if ok {
			got = c.String()
		}
		if got != tt.want {
			t.Errorf("%s %+v: COPY %q, want %q", tt.format, tt.fields, got, tt.want)
		}
	}
}

func TestNewDelimiterRefuses(t *testing.T) {
	for name, f := range map[string]Fields{
		"empty terminator":       {TerminatedBy: ptr("")},
		"empty line terminator":  {LinesTerminatedBy: ptr("")},
		"two-byte quote":         {EnclosedBy: ptr(`""`)},
		"quote in terminator":    {TerminatedBy: ptr(`"`), EnclosedBy: ptr(`"`)},
		"escape letter conflict": {TerminatedBy: ptr("n")},
		"escape in terminator":   {TerminatedBy: ptr(`\`)},
	} {
		if _, err := newDelimiter(FormatText, f); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := newDelimiter(FormatCSV, Fields{EnclosedBy: ptr("")}); err == nil {
		t.Error("csv without a quote: accepted")
	}
}

func TestNames(t *testing.T) {
	a := names{naming: NamingAurora, base: "d/sales", ext: ".gz"}
	if got := []string{a.part(0), a.part(12345), a.manifest()}; !reflect.DeepEqual(got, []string{"d/sales.part_00000.gz", "d/sales.part_12345.gz", "d/sales.manifest"}) {
		t.Errorf("aurora names %v", got)
	}
	w := names{naming: NamingAWSS3, base: "d/f.csv"}
	if got := []string{w.part(0), w.part(1), w.part(2)}; !reflect.DeepEqual(got, []string{"d/f.csv", "d/f.csv_part2", "d/f.csv_part3"}) {
		t.Errorf("aws_s3 names %v", got)
	}
	for key, want := range map[string]bool{"d/sales.part_00003": true, "d/sales.manifest": true, "d/sales.csv": false, "d/salesman.part_00000": false} {
		if a.ours(key) != want {
			t.Errorf("aurora ours(%q) = %v", key, !want)
		}
	}
	for key, want := range map[string]bool{"d/f.csv": true, "d/f.csv_part7": true, "d/f.csv_partx": false, "d/f.csv.bak": false} {
		if w.ours(key) != want {
			t.Errorf("aws_s3 ours(%q) = %v", key, !want)
		}
	}
}

func TestCheckQuery(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1;":                            "SELECT 1",
		"  select a from t -- note\n ; ":       "select a from t",
		"WITH x AS (SELECT 1) SELECT * FROM x": "WITH x AS (SELECT 1) SELECT * FROM x",
		"(SELECT 1) UNION (SELECT 2)":          "(SELECT 1) UNION (SELECT 2)",
	} {
		if got, err := CheckQuery(in); err != nil || got != want {
			t.Errorf("CheckQuery(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "DELETE FROM t", "SELECT 1; SELECT 2", "SELECT * FROM t FOR UPDATE", "CALL p()",
		"SELECT 1 INTO @x", "SELECT * FROM t INTO OUTFILE '/tmp/x'", "TRUNCATE t", "SELECT /*! 1; DROP TABLE t */ 1"} {
		if _, err := CheckQuery(bad); err == nil {
			t.Errorf("CheckQuery(%q) accepted it", bad)
		}
	}
}

func TestFromStatement(t *testing.T) {
	st, err := statement.ParseExport(`SELECT * FROM t INTO OUTFILE S3 's3://b-x1/p' FORMAT CSV HEADER
		FIELDS TERMINATED BY ';' OPTIONALLY ENCLOSED BY '"' LINES TERMINATED BY '\r\n' MANIFEST ON OVERWRITE ON PARTSIZE 1000`)
	if err != nil {
		t.Fatal(err)
	}
	p, err := FromStatement(st)
	if err != nil {
		t.Fatal(err)
	}
	if p.Query != "SELECT * FROM t" || p.Format != FormatCSV || !p.Header || !p.Manifest || !p.Overwrite || p.MaxFileSize != 1000 ||
		*p.Fields.TerminatedBy != ";" || !p.Fields.Optionally || *p.Fields.LinesTerminatedBy != "\r\n" || p.Fields.EscapedBy != nil {
		t.Errorf("FromStatement: %+v", p)
	}
	for _, clause := range []string{"ENCRYPTION SSE_S3", "CHARACTER SET latin1"} {
		st, err := statement.ParseExport("SELECT 1 INTO OUTFILE S3 's3://b-x1/p' " + clause)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := FromStatement(st); err == nil || !strings.Contains(err.Error(), strings.Fields(clause)[0]) {
			t.Errorf("%s: got %v, want it refused", clause, err)
		}
	}
}

// TestNamesEarlier: an overwrite deletes exactly the names an export to the
// same URI writes, in any compression, and nothing that merely looks alike.
func TestNamesEarlier(t *testing.T) {
	aurora := names{naming: NamingAurora, base: "d/sales"}
	aws := names{naming: NamingAWSS3, base: "d/f.csv"}
	tests := []struct {
		n    names
		key  string
		want bool
	}{
		{aurora, "d/sales.part_00000", true},
		{aurora, "d/sales.part_00002", true},
		{aurora, "d/sales.part_00002.gz", true},
		{aurora, "d/sales.part_00002.zst", true},
		{aurora, "d/sales.part_123456", true},
		{aurora, "d/sales.manifest", true},
		{aurora, "d/sales.part_2", false},
		{aurora, "d/sales.part_00002.bak", false},
		{aurora, "d/sales.part_00002.gz.gz", false},
		{aurora, "d/sales.part_-0001", false},
		{aurora, "d/sales.part_+0001", false},
		{aurora, "d/sales.part_", false},
		{aurora, "d/sales2.part_00000", false},
		{aurora, "d/sales.part_00000/x", false},
		{aurora, "d/sales", false},
		{aurora, "d/sales/other", false},
		{aws, "d/f.csv", true},
		{aws, "d/f.csv_part2", true},
		{aws, "d/f.csv_part13", true},
		{aws, "d/f.csv.manifest", true},
		{aws, "d/f.csv_part1", false},
		{aws, "d/f.csv_part02", false},
		{aws, "d/f.csv_part+2", false},
		{aws, "d/f.csv_part", false},
		{aws, "d/f.csv2", false},
		{aws, "d/f.csv_part2.bak", false},
		{aws, "d/f.csv/x", false},
	}
	for _, tt := range tests {
		if got := tt.n.earlier(tt.key); got != tt.want {
			t.Errorf("%s earlier(%q) = %v, want %v", tt.n.naming, tt.key, got, tt.want)
		}
	}
}
