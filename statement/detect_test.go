package statement

import "testing"

func TestDetect(t *testing.T) {
	tests := []struct {
		sql       string
		s3, multi bool
	}{
		{"SELECT 1", false, false},
		{"LOAD DATA FROM S3 's3://b/k' INTO TABLE t", true, false},
		{"load xml s3 prefix 's3://b/k' into table t;", true, false},
		{"SELECT a INTO OUTFILE S3 's3://b/p' FROM t", true, false},
		{"SELECT 'LOAD DATA FROM S3' /* INTO OUTFILE S3 */", false, false},
		{"LOAD DATA LOCAL INFILE 'f' INTO TABLE t", false, false},
		{"SELECT 1; LOAD DATA FROM S3 's3://b/k' INTO TABLE t", true, true},
		{"SELECT 1; SELECT 2", false, true},
		{"SELECT 's3", false, false},
		{"DELETE FROM t; SELECT * FROM t INTO OUTFILE S3 's3://b/p'", true, true},
	}
	for _, tt := range tests {
		s3, multi := Detect(tt.sql)
		if s3 != tt.s3 || multi != tt.multi {
			t.Errorf("Detect(%q) = %v, %v; want %v, %v", tt.sql, s3, multi, tt.s3, tt.multi)
		}
	}
}

func FuzzDetect(f *testing.F) {
	f.Add("LOAD DATA FROM S3 's3://b/k' INTO TABLE t; SELECT 1")
	f.Fuzz(func(t *testing.T, sql string) {
		s3, _ := Detect(sql)
		if _, err := Parse(sql); err == nil && !s3 {
			t.Errorf("Parse accepts %q but Detect misses it", sql)
		}
	})
}
