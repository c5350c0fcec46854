package load

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/s3bridge/s3bridge"
)

// FuzzDecodeManifest feeds any bytes to the manifest decoder and each
// entry's URL to the URI parser, as a manifest load does: no panic, and
// every entry URL that parses names a valid bucket and key.
func FuzzDecodeManifest(f *testing.F) {
	for _, s := range []string{
		`{"entries":[{"url":"s3://bucket/a.csv","mandatory":true},{"url":"s3://bucket/b.csv","mandatory":false}]}`,
		`{"entries":[{"url":"s3-us-west-2://b/k"},{"url":"arn:aws:s3:::b/k"}]}`,
		`{"entries":[]}`, `{}`, `[]`, `null`, ``, `{"entries":[{"url":""}]}`,
		`{"entries":[{"url":"s3://b/../../etc/passwd"},{"url":"file:///etc/passwd"},{"url":"s3://B_/k"}]}`,
		`{"entries":[{"url":"s3://b/k","mandatory":"yes"}]}`, `{"entries":{"url":"s3://b/k"}}`,
		`{"entries":[{"url":"s3://b/\u0000"}]}` + strings.Repeat(" ", 10), `{"entries":[` + strings.Repeat(`[`, 200),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeManifest(strings.NewReader(string(data)), "s3://b/m.manifest")
		if err != nil {
			if !strings.Contains(err.Error(), "s3://b/m.manifest") {
				t.Fatalf("error %q does not name the manifest", err)
			}
			return
		}
		for _, e := range m.Entries {
			loc, err := s3bridge.ParseURI(e.URL)
			if err != nil {
				continue
			}
			if err := s3bridge.ValidateBucket(loc.Bucket); err != nil {
				t.Fatalf("entry %q: bucket %q accepted: %v", e.URL, loc.Bucket, err)
			}
			if !utf8.ValidString(loc.Key) {
				t.Fatalf("entry %q: key %q accepted", e.URL, loc.Key)
			}
		}
	})
}
