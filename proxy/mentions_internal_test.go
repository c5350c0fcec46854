package proxy

import (
	"testing"

	"github.com/s3bridge/s3bridge/statement"
)

// FuzzMentionsS3: the relay's pre-check never hides an S3 statement from
// Detect: whatever Detect calls one mentions S3.
func FuzzMentionsS3(f *testing.F) {
	for _, q := range []string{"SELECT 1", "load data from s3 's3://b/k' into table t", "SELECT * FROM t INTO OUTFILE s3 'x'",
		"LOAD XML FROM S3 FILE 'k' INTO TABLE t", "select 's3'", "SELECT 1; LOAD DATA S3 'k' INTO TABLE t"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if s3, _ := statement.Detect(q); s3 && !mentionsS3([]byte(q)) {
			t.Errorf("Detect finds an S3 statement in %q, but mentionsS3 says it has no S3", q)
		}
	})
}

func TestMentionsS3(t *testing.T) {
	for q, want := range map[string]bool{"SELECT 1": false, "": false, "s": false, "S3": true, "x s3": true, "LOAD DATA FROM s3": true, "s 3": false} {
		if got := mentionsS3([]byte(q)); got != want {
			t.Errorf("mentionsS3(%q) = %v, want %v", q, got, want)
		}
	}
}
