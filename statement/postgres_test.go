package statement

import (
	"errors"
	"testing"
)

func TestPostgresCopyOptions(t *testing.T) {
	const load = "LOAD DATA FROM S3 's3://b/k' INTO TABLE t "
	tests := []struct {
		clauses string
		want    string
	}{
		{"", `FORMAT text, DELIMITER E'\t', NULL E'\\N'`},
		{"(a, b)", `FORMAT text, DELIMITER E'\t', NULL E'\\N'`},
		{`FIELDS TERMINATED BY ',' LINES TERMINATED BY '\n'`, `FORMAT text, DELIMITER ',', NULL E'\\N'`},
		{`FIELDS TERMINATED BY '|' ESCAPED BY '\\' LINES STARTING BY '' TERMINATED BY '\r\n' IGNORE 1 LINES`, `FORMAT text, DELIMITER '|', NULL E'\\N', HEADER true`},
		{`CHARACTER SET latin1 FIELDS TERMINATED BY ','`, `FORMAT text, DELIMITER ',', NULL E'\\N', ENCODING 'WIN1252'`},
		{`CHARACTER SET utf8mb4`, `FORMAT text, DELIMITER E'\t', NULL E'\\N', ENCODING 'UTF8'`},
		{`FIELDS TERMINATED BY ',' ENCLOSED BY '"' ESCAPED BY ''`, `FORMAT csv, DELIMITER ',', QUOTE '"', ESCAPE '"', NULL 'NULL'`},
		{`FIELDS TERMINATED BY ';' OPTIONALLY ENCLOSED BY '''' ESCAPED BY '' IGNORE 1 ROWS`, `FORMAT csv, DELIMITER ';', QUOTE '''', ESCAPE '''', NULL 'NULL', HEADER true`},
		{`FIELDS ENCLOSED BY '"' ESCAPED BY ''`, `FORMAT csv, DELIMITER E'\t', QUOTE '"', ESCAPE '"', NULL 'NULL'`},
		{`IGNORE 0 LINES`, `FORMAT text, DELIMITER E'\t', NULL E'\\N'`},
	}
	for _, tt := range tests {
		l, err := ParseLoad(load + tt.clauses)
		if err != nil {
			t.Fatalf("ParseLoad(%q): %v", tt.clauses, err)
		}
		got, err := l.PostgresCopyOptions()
		if err != nil || got != tt.want {
			t.Errorf("PostgresCopyOptions for %q = %s, %v; want %s", tt.clauses, got, err, tt.want)
		}
	}
}

func TestPostgresCopyOptionsUnsupported(t *testing.T) {
	tests := []struct {
		sql    string
		clause string
		want   string
	}{
		{"LOAD XML FROM S3 's3://b/k' INTO TABLE t", "LOAD XML", "PostgreSQL COPY cannot express LOAD XML: COPY has no XML format"},
		{"LOAD DATA FROM S3 's3://b/k' REPLACE INTO TABLE t", "REPLACE", "PostgreSQL COPY cannot express REPLACE: COPY only inserts; replacing rows with duplicate keys needs a staging table and INSERT … ON CONFLICT"},
		{"LOAD DATA FROM S3 's3://b/k' IGNORE INTO TABLE t", "IGNORE", "PostgreSQL COPY cannot express IGNORE: COPY only inserts; skipping rows with duplicate keys needs a staging table and INSERT … ON CONFLICT DO NOTHING"},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t PARTITION (p)", "PARTITION", "PostgreSQL COPY cannot express PARTITION: COPY can't restrict rows to partitions; name the partition as the table instead"},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t (a, @b)", "column list", "PostgreSQL COPY cannot express column list: COPY fills columns only, not the user variable @b"},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t (a) SET b = a * 2", "SET", "PostgreSQL COPY cannot express SET: COPY can't compute columns (SET b = a * 2)"},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t IGNORE 2 LINES", "IGNORE LINES", "PostgreSQL COPY cannot express IGNORE LINES: COPY's HEADER skips one line, not 2"},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t CHARACTER SET binary", "CHARACTER SET", "PostgreSQL COPY cannot express CHARACTER SET: no PostgreSQL encoding matches MySQL's binary"},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t LINES STARTING BY 'x'", "LINES STARTING BY", "PostgreSQL COPY cannot express LINES STARTING BY: COPY has no line prefix to strip ('x')"},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t LINES TERMINATED BY '\\r'", "LINES TERMINATED BY", `PostgreSQL COPY cannot express LINES TERMINATED BY: COPY ends lines with '\n' or '\r\n' only, not '\r'`},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t LINES TERMINATED BY '||'", "LINES TERMINATED BY", `PostgreSQL COPY cannot express LINES TERMINATED BY: COPY ends lines with '\n' or '\r\n' only, not '||'`},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS TERMINATED BY '||'", "FIELDS TERMINATED BY", "PostgreSQL COPY cannot express FIELDS TERMINATED BY: '||': COPY needs a delimiter of exactly one ASCII character"},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS TERMINATED BY ''", "FIELDS TERMINATED BY", "PostgreSQL COPY cannot express FIELDS TERMINATED BY: '': COPY needs a delimiter of exactly one ASCII character"},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS TERMINATED BY '§'", "FIELDS TERMINATED BY", "PostgreSQL COPY cannot express FIELDS TERMINATED BY: '§': COPY needs a delimiter of exactly one ASCII character"},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS TERMINATED BY 'x'", "FIELDS TERMINATED BY", "PostgreSQL COPY cannot express FIELDS TERMINATED BY: 'x': COPY's text format reserves backslash, period, lower-case letters and digits"},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS TERMINATED BY 'N'", "FIELDS TERMINATED BY", `PostgreSQL COPY cannot express FIELDS TERMINATED BY: 'N' is part of COPY's NULL marker \N`},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS TERMINATED BY '\\n'", "FIELDS TERMINATED BY", `PostgreSQL COPY cannot express FIELDS TERMINATED BY: '\n': COPY can't delimit fields with a newline or carriage return`},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS TERMINATED BY '\\0'", "FIELDS TERMINATED BY", `PostgreSQL COPY cannot express FIELDS TERMINATED BY: '\0': PostgreSQL strings can't hold NUL`},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS ESCAPED BY '^'", "FIELDS ESCAPED BY", "PostgreSQL COPY cannot express FIELDS ESCAPED BY: COPY's text format always escapes with a backslash, not '^'"},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS ESCAPED BY ''", "FIELDS ESCAPED BY", "PostgreSQL COPY cannot express FIELDS ESCAPED BY: COPY's text format always escapes with a backslash and can't turn escaping off"},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS TERMINATED BY ',' ENCLOSED BY '\"'", "FIELDS ESCAPED BY", `PostgreSQL COPY cannot express FIELDS ESCAPED BY: COPY's CSV format has no escape character like MySQL's '\\' (which also works outside quotes and reads \N and \n); use ESCAPED BY '' for RFC 4180 files, whose quotes are doubled`},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS TERMINATED BY ',' ENCLOSED BY ',' ESCAPED BY ''", "FIELDS ENCLOSED BY", "PostgreSQL COPY cannot express FIELDS ENCLOSED BY: COPY needs the quote and the delimiter to differ"},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS ENCLOSED BY '\\n' ESCAPED BY ''", "FIELDS ENCLOSED BY", `PostgreSQL COPY cannot express FIELDS ENCLOSED BY: COPY needs an ASCII quote character other than newline, not '\n'`},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS ENCLOSED BY 'U' ESCAPED BY ''", "FIELDS ENCLOSED BY", "PostgreSQL COPY cannot express FIELDS ENCLOSED BY: 'U' is part of the NULL word COPY must recognise"},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t FIELDS TERMINATED BY 'L' ENCLOSED BY '\"' ESCAPED BY ''", "FIELDS TERMINATED BY", "PostgreSQL COPY cannot express FIELDS TERMINATED BY: 'L' is part of the NULL word COPY must recognise"},
	}
	for _, tt := range tests {
		l, err := ParseLoad(tt.sql)
		if err != nil {
			t.Fatalf("ParseLoad(%q): %v", tt.sql, err)
		}
		got, err := l.PostgresCopyOptions()
		var ue *UnsupportedError
		if !errors.As(err, &ue) {
			t.Errorf("PostgresCopyOptions for %q = %q, %v; want an *UnsupportedError", tt.sql, got, err)
			continue
		}
		if ue.Clause != tt.clause || err.Error() != tt.want {
			t.Errorf("PostgresCopyOptions for %q\n got clause %q, error %s\nwant clause %q, error %s", tt.sql, ue.Clause, err, tt.clause, tt.want)
		}
	}
}
