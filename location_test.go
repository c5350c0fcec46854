package s3bridge

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		in      string
		want    Location
		wantStr string
		wantARN string
	}{
		{"s3://bucket/key.csv", Location{Bucket: "bucket", Key: "key.csv"}, "s3://bucket/key.csv", "arn:aws:s3:::bucket/key.csv"},
		{"s3://bucket/dir/sub/file", Location{Bucket: "bucket", Key: "dir/sub/file"}, "s3://bucket/dir/sub/file", "arn:aws:s3:::bucket/dir/sub/file"},
		{"s3://bucket", Location{Bucket: "bucket"}, "s3://bucket", "arn:aws:s3:::bucket"},
		{"s3://bucket/", Location{Bucket: "bucket"}, "s3://bucket", "arn:aws:s3:::bucket"},
		{"s3://bucket/prefix/", Location{Bucket: "bucket", Key: "prefix/"}, "s3://bucket/prefix/", "arn:aws:s3:::bucket/prefix/"},
		{"s3://bucket/a%20b c", Location{Bucket: "bucket", Key: "a%20b c"}, "s3://bucket/a%20b c", "arn:aws:s3:::bucket/a%20b c"},
		{"s3://bucket//lead", Location{Bucket: "bucket", Key: "/lead"}, "s3://bucket//lead", "arn:aws:s3:::bucket//lead"},
		{"S3://bucket/k", Location{Bucket: "bucket", Key: "k"}, "s3://bucket/k", "arn:aws:s3:::bucket/k"},
		{"s3://my.dotted-bucket.1/k", Location{Bucket: "my.dotted-bucket.1", Key: "k"}, "s3://my.dotted-bucket.1/k", "arn:aws:s3:::my.dotted-bucket.1/k"},
		{"s3-us-west-2://bucket/k", Location{Bucket: "bucket", Key: "k", Region: "us-west-2"}, "s3://bucket/k", "arn:aws:s3:::bucket/k"},
		{"s3-cn-north-1://bucket/k", Location{Bucket: "bucket", Key: "k", Region: "cn-north-1"}, "s3://bucket/k", "arn:aws-cn:s3:::bucket/k"},
		{"s3-us-gov-west-1://bucket/k", Location{Bucket: "bucket", Key: "k", Region: "us-gov-west-1"}, "s3://bucket/k", "arn:aws-us-gov:s3:::bucket/k"},
		{"arn:aws:s3:::bucket/k/x.gz", Location{Bucket: "bucket", Key: "k/x.gz"}, "s3://bucket/k/x.gz", "arn:aws:s3:::bucket/k/x.gz"},
		{"arn:aws:s3:::bucket", Location{Bucket: "bucket"}, "s3://bucket", "arn:aws:s3:::bucket"},
		{"arn:aws:s3:::bucket/a:b", Location{Bucket: "bucket", Key: "a:b"}, "s3://bucket/a:b", "arn:aws:s3:::bucket/a:b"},
		{"arn:aws-cn:s3:::bucket/k", Location{Bucket: "bucket", Key: "k", partition: "aws-cn"}, "s3://bucket/k", "arn:aws-cn:s3:::bucket/k"},
		{"arn:aws-us-gov:s3:::bucket/k", Location{Bucket: "bucket", Key: "k", partition: "aws-us-gov"}, "s3://bucket/k", "arn:aws-us-gov:s3:::bucket/k"},
	}
	for _, tt := range tests {
		got, err := ParseURI(tt.in)
		if err != nil {
			t.Errorf("ParseURI(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseURI(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.wantStr {
			t.Errorf("ParseURI(%q).String() = %q, want %q", tt.in, s, tt.wantStr)
		}
		if a := got.ARN(); a != tt.wantARN {
			t.Errorf("ParseURI(%q).ARN() = %q, want %q", tt.in, a, tt.wantARN)
		}
	}
}

func TestParseURIErrors(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"", "want s3://"},
		{"bucket/key", "want s3://"},
		{"s3://", "empty bucket"},
		{"s3:///key", "empty bucket"},
		{"https://bucket/key", "unknown scheme"},
		{"s3-://bucket/key", "unknown scheme"},
		{"s3-US_WEST://bucket/key", "unknown scheme"},
		{"gs://bucket/key", "unknown scheme"},
		{"s3://ab/k", "3 to 63"},
		{"s3://" + strings.Repeat("a", 64) + "/k", "3 to 63"},
		{"s3://Bucket/k", "lower-case"},
		{"s3://buck_et/k", "lower-case"},
		{"s3://-bucket/k", "begin and end"},
		{"s3://bucket./k", "begin and end"},
		{"s3://buc..ket/k", "adjacent periods"},
		{"s3://192.168.1.1/k", "IP address"},
		{"s3://xn--bucket/k", "must not begin"},
		{"s3://sthree-bucket/k", "must not begin"},
		{"s3://bucket-s3alias/k", "must not end"},
		{"s3://bucket--ol-s3/k", "must not end"},
		{"s3://bucket/" + strings.Repeat("k", 1025), "longer than 1024"},
		{"s3://bucket/\xff", "UTF-8"},
		{"arn:aws:s3:::", "empty bucket"},
		{"arn:aws:s3:us-east-1::bucket/k", "not an S3 bucket or object ARN"},
		{"arn:aws:s3::123456789012:bucket/k", "not an S3 bucket or object ARN"},
		{"arn:aws:iam:::bucket/k", "not an S3 bucket or object ARN"},
		{"arn:aws-eu:s3:::bucket/k", "not an S3 bucket or object ARN"},
		{"arn:aws:s3", "not an S3 bucket or object ARN"},
	}
	for _, tt := range tests {
		_, err := ParseURI(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseURI(%q) = %v, want error containing %q", tt.in, err, tt.wantErr)
		}
	}
}

// FuzzParseURI checks that whatever parses is a valid location that
// survives both printed forms.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"s3://bucket/key", "s3://bucket", "s3://bucket/", "s3-eu-west-1://b-1.x/k/", "arn:aws:s3:::bucket/k",
		"arn:aws-cn:s3:::bucket", "arn:aws-us-gov:s3:::bucket/a:b/c", "s3://a..b/k", "s3://1.2.3.4/k",
		"s3://bucket/\xff", "arn:aws:s3:::", "S3://bucket/%2F", "s3-://x/y", "arn:aws:s3:us-east-1:1:b/k",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := ParseURI(s)
		if err != nil {
			return
		}
		if err := ValidateBucket(loc.Bucket); err != nil {
			t.Fatalf("ParseURI(%q) accepted bucket %q: %v", s, loc.Bucket, err)
		}
		if !utf8.ValidString(loc.Key) || len(loc.Key) > maxKeyLen {
			t.Fatalf("ParseURI(%q) accepted key %q", s, loc.Key)
		}
		for _, form := range []string{loc.String(), loc.ARN()} {
			again, err := ParseURI(form)
			if err != nil {
				t.Fatalf("ParseURI(%q) -> %q does not parse: %v", s, form, err)
			}
			if again.Bucket != loc.Bucket || again.Key != loc.Key {
				t.Fatalf("ParseURI(%q) -> %q -> %+v, want bucket %q key %q", s, form, again, loc.Bucket, loc.Key)
			}
		}
		if a := loc.ARN(); a != mustParse(t, a).ARN() {
			t.Fatalf("ARN %q not stable", a)
		}
	})
}

func mustParse(t *testing.T, s string) Location {
	t.Helper()
	l, err := ParseURI(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
