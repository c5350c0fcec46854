package statement

import (
	"reflect"
	"strings"
	"testing"
)

const readerName = "Reader::s3bridge_42"

func TestMariaDBLocalInfile(t *testing.T) {
	tests := []struct {
		sql  string
		want string
	}{
		{
			"LOAD DATA FROM S3 's3://mybucket/data.txt' INTO TABLE table1 (column1, @var1) SET column2 = @var1 * 100;",
			"LOAD DATA LOCAL INFILE 'Reader::s3bridge_42' INTO TABLE `table1` (`column1`, @`var1`) SET `column2` = @var1 * 100",
		},
		{
			`LOAD DATA FROM S3 PREFIX 's3-us-west-2://my-data/employee_data' INTO TABLE employees FIELDS TERMINATED BY ',' LINES TERMINATED BY '\n' (ID, FIRSTNAME, LASTNAME, EMAIL);`,
			"LOAD DATA LOCAL INFILE 'Reader::s3bridge_42' INTO TABLE `employees` FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n' (`ID`, `FIRSTNAME`, `LASTNAME`, `EMAIL`)",
		},
		{
			"LOAD XML FROM S3 's3://mybucket/employees.xml' INTO TABLE employees ROWS IDENTIFIED BY '<employee>';",
			"LOAD XML LOCAL INFILE 'Reader::s3bridge_42' INTO TABLE `employees` ROWS IDENTIFIED BY '<employee>'",
		},
		{
			"LOAD XML FROM S3 's3://b/k' IGNORE INTO TABLE t PARTITION (p1) CHARACTER SET utf8mb4 IGNORE 1 ROWS (a, @b) SET c = @b",
			"LOAD XML LOCAL INFILE 'Reader::s3bridge_42' IGNORE INTO TABLE `t` PARTITION (`p1`) CHARACTER SET utf8mb4 ROWS IDENTIFIED BY '<row>' IGNORE 1 ROWS (`a`, @`b`) SET `c` = @b",
		},
		{
			`LOAD DATA FROM S3 MANIFEST 's3://b/m' REPLACE INTO TABLE ` + "`my``db`.`odd name`" + ` PARTITION (p0, ` + "`p 1`" + `) CHARSET binary
			 FIELDS TERMINATED BY '\t' OPTIONALLY ENCLOSED BY '\'' ESCAPED BY '\\'
			 LINES STARTING BY '\0' TERMINATED BY '\r\n\Z' IGNORE 3 LINES (` + "`a``b`" + `, @'v''1') SET ` + "`a``b`" + ` = CONCAT(@` + "`v'1`" + `, '\n'),  c = NOW()`,
			"LOAD DATA LOCAL INFILE 'Reader::s3bridge_42' REPLACE INTO TABLE `my``db`.`odd name` PARTITION (`p0`, `p 1`) CHARACTER SET binary" +
				" FIELDS TERMINATED BY '\t' OPTIONALLY ENCLOSED BY '''' ESCAPED BY '\\\\'" +
				` LINES STARTING BY '\0' TERMINATED BY '\r\n\Z' IGNORE 3 LINES (` + "`a``b`, @`v'1`) SET `a``b` = CONCAT(@`v'1`, '\\n'), `c` = NOW()",
		},
	}
	for _, tt := range tests {
		l, err := ParseLoad(tt.sql)
		if err != nil {
			t.Errorf("ParseLoad(%q): %v", tt.sql, err)
			continue
		}
		if got := l.MariaDBLocalInfile(readerName); got != tt.want {
			t.Errorf("MariaDBLocalInfile of %q\n got %s\nwant %s", tt.sql, got, tt.want)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		sql  string
		want string
	}{
		{
			"load data s3 file 's3://b/k' into table d.t fields terminated by ','",
			"LOAD DATA FROM S3 's3://b/k' INTO TABLE `d`.`t` FIELDS TERMINATED BY ','",
		},
		{
			"LOAD DATA FROM S3 PREFIX 's3-eu-west-1://b/p' INTO TABLE t",
			"LOAD DATA FROM S3 PREFIX 's3-eu-west-1://b/p' INTO TABLE `t`",
		},
		{
			"SELECT a, b INTO OUTFILE S3 's3://b/p' FORMAT PARQUET PARTSIZE 1000 FROM t",
			"SELECT a, b FROM t INTO OUTFILE S3 's3://b/p' FORMAT PARQUET PARTSIZE 1000",
		},
		{
			"SELECT 1 INTO OUTFILE S3 's3://b/p' overwrite on format text header manifest off encryption sse_kms 'k' charset utf8",
			"SELECT 1 INTO OUTFILE S3 's3://b/p' CHARACTER SET utf8 FORMAT TEXT HEADER OVERWRITE ON ENCRYPTION SSE_KMS 'k'",
		},
	}
	for _, tt := range tests {
		st, err := Parse(tt.sql)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.sql, err)
			continue
		}
		if got := st.String(); got != tt.want {
			t.Errorf("String of %q\n got %s\nwant %s", tt.sql, got, tt.want)
		}
	}
}

// roundTripSeeds are statements whose renderings must parse back to equal
// values; FuzzParse starts from them too.
func roundTripSeeds() []string {
	return []string{
		"LOAD DATA FROM S3 's3://mybucket/data.txt' INTO TABLE table1 (column1, @var1) SET column2 = @var1 * 100;",
		`LOAD DATA FROM S3 PREFIX 's3-us-west-2://my-data/employee_data' INTO TABLE employees FIELDS TERMINATED BY ',' LINES TERMINATED BY '\n' (ID, FIRSTNAME, LASTNAME, EMAIL);`,
		`LOAD DATA FROM S3 MANIFEST 's3-us-west-2://aurora-bucket/customer.manifest' INTO TABLE CUSTOMER FIELDS TERMINATED BY ',' LINES TERMINATED BY '\n' (ID, FIRSTNAME, LASTNAME, EMAIL);`,
		"LOAD XML FROM S3 's3://mybucket/employees.xml' INTO TABLE employees ROWS IDENTIFIED BY '<employee>';",
		`LOAD DATA FROM S3 MANIFEST 's3://b/m''\\\0\Z' REPLACE INTO TABLE ` + "`my``db`.`odd name`" + ` PARTITION (p0, ` + "`p 1`" + `) CHARSET latin1
		 COLUMNS TERMINATED BY 0x09 OPTIONALLY ENCLOSED BY '\'' ESCAPED BY ''
		 LINES STARTING BY '\0' TERMINATED BY '\r\n\Z' IGNORE 3 ROWS (` + "`a``b`" + `, @'v''1', ünï) SET ` + "`a``b`" + ` = CONCAT(@` + "`v'1`" + ` /* c */, '\n'), c := (1 + (2))`,
		"LOAD XML S3 PREFIX 's3://b/x' IGNORE INTO TABLE t PARTITION (p) CHARACTER SET 'utf8mb4' ROWS IDENTIFIED BY '<a''b>' IGNORE 0 LINES () SET a = 1",
		"SELECT * FROM employees INTO OUTFILE S3 's3-us-west-2://aurora-select-into-s3-pdx/sample_employee_data' FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n' MANIFEST ON OVERWRITE ON;",
		"SELECT id, name FROM t WHERE x = 'INTO OUTFILE S3' INTO OUTFILE S3 's3://b/p' FORMAT CSV HEADER;",
		"SELECT a -- c\nINTO OUTFILE S3 's3://b/p' FORMAT PARQUET PARTSIZE 5 FROM t",
		"WITH x AS (SELECT 1) (SELECT * FROM x) INTO OUTFILE S3 \"s3://b/\\\"p\" CHARSET utf8 FIELDS ENCLOSED BY '\"' ESCAPED BY '\\\\' LINES STARTING BY '' ENCRYPTION ON",
	}
}

// swapInfile turns a MariaDB rendering back into Aurora's form by putting
// the S3 source where the file name was.
func swapInfile(t *testing.T, l *Load, rendered string) string {
	t.Helper()
	head := l.verb() + " LOCAL INFILE " + QuoteLiteralMySQL(readerName)
	if !strings.HasPrefix(rendered, head) {
		t.Fatalf("MariaDB rendering %q doesn't start with %q", rendered, head)
	}
	return l.verb() + " FROM S3 " + l.Source.String() + " " + QuoteLiteralMySQL(l.URI) + rendered[len(head):]
}

// checkRoundTrip verifies that st's renderings parse back to st.
func checkRoundTrip(t *testing.T, st Statement) {
	t.Helper()
	back, err := Parse(st.String())
	if err != nil {
		t.Fatalf("String() = %q doesn't parse: %v", st.String(), err)
	}
	if !reflect.DeepEqual(back, st) {
		t.Fatalf("String() = %q parses to\n%#v\nwant\n%#v", st.String(), back, st)
	}
	l, ok := st.(*Load)
	if !ok {
		return
	}
	sql := swapInfile(t, l, l.MariaDBLocalInfile(readerName))
	back, err = ParseLoad(sql)
	if err != nil {
		t.Fatalf("MariaDB rendering with the file swapped, %q, doesn't parse: %v", sql, err)
	}
	if !reflect.DeepEqual(back, st) {
		t.Fatalf("MariaDB rendering with the file swapped, %q, parses to\n%#v\nwant\n%#v", sql, back, st)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, sql := range roundTripSeeds() {
		st, err := Parse(sql)
		if err != nil {
			t.Fatalf("Parse(%q): %v", sql, err)
		}
		checkRoundTrip(t, st)
	}
}
