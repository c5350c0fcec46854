package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Feature is what an instance uses S3 for; each needs its own actions.
// The names are those of attach --feature, with RDS's S3_INTEGRATION.
type Feature string

// Features.
const (
	// FeatureS3Integration is file transfer with every SQL function, as
	// RDS for SQL Server's S3 integration needs it: list buckets, bucket
	// ACL and location, get, put and multipart clean-up.
	FeatureS3Integration Feature = "S3_INTEGRATION"
	// FeatureUpload is RDS for Oracle's upload_to_s3 alone: s3:PutObject.
	FeatureUpload Feature = "S3_INTEGRATION_UPLOAD"
	// FeatureDownload is RDS for Oracle's download_from_s3 alone:
	// s3:GetObject and s3:ListBucket.
	FeatureDownload Feature = "S3_INTEGRATION_DOWNLOAD"
	// FeatureLoad is Aurora MySQL's LOAD DATA|XML FROM S3 and aws_s3 import.
	FeatureLoad Feature = "LOAD"
	// FeatureExport is Aurora MySQL's SELECT INTO OUTFILE S3 and aws_s3
	// export.
	FeatureExport Feature = "EXPORT"
)

// Features lists every feature, in the order the CLI shows them.
func Features() []Feature {
	return []Feature{FeatureS3Integration, FeatureUpload, FeatureDownload, FeatureLoad, FeatureExport}
}

// ParseFeature reads a feature name in any case.
func ParseFeature(s string) (Feature, error) {
	for _, f := range Features() {
		if strings.EqualFold(s, string(f)) {
			return f, nil
		}
	}
	names := make([]string, 0, len(Features()))
	for _, f := range Features() {
		names = append(names, string(f))
	}
	return "", fmt.Errorf("feature %q: want one of %s", s, strings.Join(names, ", "))
}

// scope is where an action applies.
type scope uint8

const (
	scopeAccount scope = iota // Resource "*"
	scopeBucket               // arn:aws:s3:::bucket
	scopeObject               // arn:aws:s3:::bucket/prefix*
)

type featureAction struct {
	action string
	scope  scope
}

// featureActions lists each feature's actions, from the references: RDS
// for Oracle (000), RDS for SQL Server (001, which spells
// s3:GetBucketACL; IAM action names are case-insensitive and AWS's own
// spelling is s3:GetBucketAcl) and Aurora MySQL (002).
func featureActions(f Feature) []featureAction {
	switch f {
	case FeatureS3Integration:
		return []featureAction{
			{"s3:ListAllMyBuckets", scopeAccount},
			{"s3:GetBucketAcl", scopeBucket}, {"s3:GetBucketLocation", scopeBucket}, {"s3:ListBucket", scopeBucket},
			{"s3:AbortMultipartUpload", scopeObject}, {"s3:GetObject", scopeObject},
			{"s3:ListMultipartUploadParts", scopeObject}, {"s3:PutObject", scopeObject},
		}
	case FeatureUpload:
		return []featureAction{{"s3:PutObject", scopeObject}}
	case FeatureDownload:
		return []featureAction{{"s3:ListBucket", scopeBucket}, {"s3:GetObject", scopeObject}}
	case FeatureLoad:
		return []featureAction{
			{"s3:ListBucket", scopeBucket},
			{"s3:GetObject", scopeObject}, {"s3:GetObjectVersion", scopeObject},
		}
	case FeatureExport:
		return []featureAction{
			{"s3:ListBucket", scopeBucket},
			{"s3:AbortMultipartUpload", scopeObject}, {"s3:DeleteObject", scopeObject}, {"s3:GetObject", scopeObject},
			{"s3:ListMultipartUploadParts", scopeObject}, {"s3:PutObject", scopeObject},
		}
	}
	return nil
}

// kmsActions are what SSE-KMS buckets need on top, as Aurora's reference
// notes: decrypt to read, a data key to write.
var kmsActions = []string{"kms:Decrypt", "kms:GenerateDataKey"}

// Permission is one action on one resource that a feature uses.
type Permission struct {
	// Action is an IAM action such as "s3:GetObject".
	Action string
	// Resource is "*", a bucket ARN ("arn:aws:s3:::b"), an object ARN
	// pattern ("arn:aws:s3:::b/data/*") or a KMS key ARN. Wildcard
	// characters in bucket names and prefixes are escaped (${*}).
	Resource string
	// Prefixes narrows s3:ListBucket to listings under these key prefixes
	// (the s3:prefix condition key); nil means the whole bucket.
	Prefixes []string
}

// Need is what one feature of an instance does with one bucket.
type Need struct {
	Feature  Feature
	Bucket   string
	Prefixes []string // key prefixes in use; none means the whole bucket
	KMS      bool     // the bucket uses SSE-KMS
	// KMSKeyARN narrows the KMS actions to one key; empty means "*".
	KMSKeyARN string
}

// Required returns the permissions a feature needs on a bucket, narrowed
// to the key prefixes (none, or an empty one, means the whole bucket),
// with kms:Decrypt and kms:GenerateDataKey on "*" when kms is set. Order is
// stable: account, bucket, object, then KMS actions, each sorted. An
// unknown feature needs nothing: ParseFeature is where names are checked.
func Required(feature Feature, bucket string, prefixes []string, kms bool) []Permission {
	return Need{Feature: feature, Bucket: bucket, Prefixes: prefixes, KMS: kms}.Permissions()
}

// Permissions returns the permissions the need asks for, as Required does,
// with the KMS actions on KMSKeyARN when it is set.
func (n Need) Permissions() []Permission {
	prefixes := minimalPrefixes(n.Prefixes)
	var perms []Permission
	for _, fa := range featureActions(n.Feature) {
		switch fa.scope {
		case scopeAccount:
			perms = append(perms, Permission{Action: fa.action, Resource: "*"})
		case scopeBucket:
			p := Permission{Action: fa.action, Resource: bucketARN(n.Bucket)}
			if fa.action == "s3:ListBucket" {
				p.Prefixes = prefixes
			}
			perms = append(perms, p)
		case scopeObject:
			for _, r := range objectARNs(n.Bucket, prefixes) {
				perms = append(perms, Permission{Action: fa.action, Resource: r})
			}
		}
	}
	if n.KMS && len(perms) > 0 {
		key := cmp.Or(n.KMSKeyARN, "*")
		for _, a := range kmsActions {
			perms = append(perms, Permission{Action: a, Resource: key})
		}
	}
	return perms
}

func bucketARN(bucket string) string { return "arn:aws:s3:::" + escapeLiteral(bucket) }

// objectARNs returns the object ARN patterns covering the prefixes.
func objectARNs(bucket string, prefixes []string) []string {
	if prefixes == nil {
		return []string{bucketARN(bucket) + "/*"}
	}
	out := make([]string, 0, len(prefixes))
	for _, p := range prefixes {
		out = append(out, bucketARN(bucket)+"/"+escapeLiteral(p)+"*")
	}
	return out
}

// minimalPrefixes sorts and dedupes prefixes and drops those another one
// already covers ("data/x/" under "data/"). nil means the whole bucket,
// which an empty prefix also asks for.
func minimalPrefixes(prefixes []string) []string {
	if len(prefixes) == 0 || slices.Contains(prefixes, "") {
		return nil
	}
	sorted := slices.Clone(prefixes)
	slices.Sort(sorted)
	out := sorted[:0:0]
	for _, p := range sorted {
		if len(out) > 0 && strings.HasPrefix(p, out[len(out)-1]) {
			continue
		}
		out = append(out, p)
	}
	return out
}
