package s3bridge

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"unicode/utf8"
)

// Location names an object, or a prefix when Key is empty or ends in "/".
type Location struct {
	Bucket string
	Key    string
	// Region is set by the Aurora form s3-REGION://; empty means detect.
	Region string

	// partition is the ARN partition when it isn't derivable from Region
	// (an arn:aws-cn:s3::: ARN); empty means derive.
	partition string
}

// Partitions whose S3 ARNs ParseURI accepts.
var partitions = []string{"aws", "aws-cn", "aws-us-gov"}

const maxKeyLen = 1024 // S3's limit, in UTF-8 bytes

// ParseURI parses the ways users name S3 objects: s3://bucket/key,
// Aurora's s3-REGION://bucket/key, and object or bucket ARNs
// arn:PARTITION:s3:::bucket/key (partitions aws, aws-cn, aws-us-gov). The
// bucket must be a valid S3 bucket name; the key may be empty (a prefix) and
// is taken verbatim, without URL decoding, since S3 keys may contain '%'.
func ParseURI(s string) (Location, error) {
	var loc Location
	var rest string
	switch {
	case strings.HasPrefix(s, "arn:"):
		parts := strings.SplitN(s, ":", 6)
		if len(parts) != 6 || !slices.Contains(partitions, parts[1]) || parts[2] != "s3" || parts[3] != "" || parts[4] != "" {
			return Location{}, fmt.Errorf("s3: parse %q: not an S3 bucket or object ARN (want arn:aws:s3:::bucket/key)", s)
		}
		rest = parts[5]
		if parts[1] != "aws" {
			loc.partition = parts[1]
		}
	default:
		scheme, after, ok := strings.Cut(s, "://")
		if !ok {
			return Location{}, fmt.Errorf("s3: parse %q: want s3://bucket/key, s3-REGION://bucket/key or arn:aws:s3:::bucket/key", s)
		}
		scheme = strings.ToLower(scheme)
		switch {
		case scheme == "s3":
		case strings.HasPrefix(scheme, "s3-") && validRegion(scheme[3:]):
			loc.Region = scheme[3:]
		default:
			return Location{}, fmt.Errorf("s3: parse %q: unknown scheme %q (want s3 or s3-REGION)", s, scheme)
		}
		rest = after
	}
	loc.Bucket, loc.Key, _ = strings.Cut(rest, "/")
	if err := ValidateBucket(loc.Bucket); err != nil {
		return Location{}, fmt.Errorf("s3: parse %q: %w", s, err)
	}
	if len(loc.Key) > maxKeyLen {
		return Location{}, fmt.Errorf("s3: parse %q: key longer than %d bytes", s, maxKeyLen)
	}
	if !utf8.ValidString(loc.Key) {
		return Location{}, fmt.Errorf("s3: parse %q: key is not valid UTF-8", s)
	}
	return loc, nil
}

// String returns the s3://bucket/key form.
func (l Location) String() string {
	if l.Key == "" {
		return "s3://" + l.Bucket
	}
	return "s3://" + l.Bucket + "/" + l.Key
}

// ARN returns the object ARN (the bucket ARN when Key is empty), in the
// partition it was parsed from or the one Region belongs to.
func (l Location) ARN() string {
	p := l.partition
	switch {
	case p != "":
	case strings.HasPrefix(l.Region, "cn-"):
		p = "aws-cn"
	case strings.HasPrefix(l.Region, "us-gov-"):
		p = "aws-us-gov"
	default:
		p = "aws"
	}
	if l.Key == "" {
		return "arn:" + p + ":s3:::" + l.Bucket
	}
	return "arn:" + p + ":s3:::" + l.Bucket + "/" + l.Key
}

// ValidateBucket checks a bucket name against S3's naming rules for general
// purpose buckets, so a typo fails before any request.
func ValidateBucket(b string) error {
	if b == "" {
		return errors.New("empty bucket name")
	}
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must be 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("bucket name %q may only contain lower-case letters, digits, '.' and '-'", b)
		}
	}
	if !alnum(b[0]) || !alnum(b[len(b)-1]) {
		return fmt.Errorf("bucket name %q must begin and end with a letter or digit", b)
	}
	if strings.Contains(b, "..") {
		return fmt.Errorf("bucket name %q must not contain adjacent periods", b)
	}
	if net.ParseIP(b) != nil {
		return fmt.Errorf("bucket name %q must not look like an IP address", b)
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(b, p) {
			return fmt.Errorf("bucket name %q must not begin with %q", b, p)
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(b, sfx) {
			return fmt.Errorf("bucket name %q must not end with %q", b, sfx)
		}
	}
	return nil
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// validRegion accepts region-shaped names (us-east-1, eu-central-2,
// us-gov-west-1) without pinning today's list, so new regions parse.
func validRegion(r string) bool {
	if len(r) < 4 || len(r) > 30 || !strings.Contains(r, "-") {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return alnum(r[0]) && alnum(r[len(r)-1]) && !strings.Contains(r, "--")
}

// ParseObjectURI parses an ARN or s3:// URI that must name one object: a
// key that is not empty and not a "directory" (ending in /).
func ParseObjectURI(uri string) (Location, error) {
	loc, err := ParseURI(uri)
	if err != nil {
		return loc, err
	}
	if loc.Key == "" || strings.HasSuffix(loc.Key, "/") {
		return loc, fmt.Errorf("%s names no object (a key is needed after the bucket)", uri)
	}
	return loc, nil
}
