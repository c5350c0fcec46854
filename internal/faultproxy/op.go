package faultproxy

import (
	"net/http"
	"net/url"
	"strings"
)

// Op is an S3 operation, as the proxy tells it from a request's method,
// path and query string (path-style addressing: /bucket/key).
type Op string

// Operations the proxy tells apart. Any, in a Rule, matches every request.
const (
	Any Op = ""

	CreateMultipartUpload   Op = "CreateMultipartUpload"   // POST /b/k?uploads
	UploadPart              Op = "UploadPart"              // PUT /b/k?partNumber&uploadId
	UploadPartCopy          Op = "UploadPartCopy"          // the same with x-amz-copy-source
	CompleteMultipartUpload Op = "CompleteMultipartUpload" // POST /b/k?uploadId
	AbortMultipartUpload    Op = "AbortMultipartUpload"    // DELETE /b/k?uploadId
	ListParts               Op = "ListParts"               // GET /b/k?uploadId
	PutObject               Op = "PutObject"               // PUT /b/k
	CopyObject              Op = "CopyObject"              // PUT /b/k with x-amz-copy-source
	GetObject               Op = "GetObject"               // GET /b/k
	HeadObject              Op = "HeadObject"              // HEAD /b/k
	DeleteObject            Op = "DeleteObject"            // DELETE /b/k
	ObjectSubresource       Op = "ObjectSubresource"       // /b/k?tagging, ?acl, ?attributes…

	ListObjectsV2        Op = "ListObjectsV2"        // GET /b?list-type=2
	ListObjects          Op = "ListObjects"          // GET /b (version 1)
	ListObjectVersions   Op = "ListObjectVersions"   // GET /b?versions
	ListMultipartUploads Op = "ListMultipartUploads" // GET /b?uploads
	GetBucketLocation    Op = "GetBucketLocation"    // GET /b?location
	HeadBucket           Op = "HeadBucket"           // HEAD /b
	DeleteObjects        Op = "DeleteObjects"        // POST /b?delete
	BucketSubresource    Op = "BucketSubresource"    // /b?policyStatus, ?versioning…
	ListBuckets          Op = "ListBuckets"          // GET /
	Other                Op = "Other"
)

// objectSubresources are the query keys that make an object request act on
// something other than the object's bytes.
var objectSubresources = []string{"acl", "tagging", "attributes", "retention", "legal-hold", "torrent", "restore", "select"}

// listV1Params are the query keys of a version 1 listing; a bucket GET with
// any other key addresses a subresource.
var listV1Params = map[string]bool{"prefix": true, "delimiter": true, "marker": true, "max-keys": true, "encoding-type": true, "x-id": true}

// Classify tells which S3 operation r is and on what: the object's key,
// or for a listing (of objects, versions or uploads) its prefix. Requests
// must use path-style addressing, which the SDK does for IP-address
// endpoints.
func Classify(r *http.Request) (op Op, bucket, key string) {
	bucket, key, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	copySource := r.Header.Get("X-Amz-Copy-Source") != ""
	switch {
	case bucket == "":
		if r.Method == http.MethodGet {
			return ListBuckets, "", ""
		}
		return Other, "", ""
	case key == "":
		op := classifyBucket(r.Method, q, has)
		switch op {
		case ListObjectsV2, ListObjects, ListObjectVersions, ListMultipartUploads:
			return op, bucket, q.Get("prefix")
		}
		return op, bucket, ""
	}
	switch r.Method {
	case http.MethodPost:
		switch {
		case has("uploads"):
			return CreateMultipartUpload, bucket, key
		case has("uploadId"):
			return CompleteMultipartUpload, bucket, key
		}
	case http.MethodPut:
		switch {
		case has("partNumber") && has("uploadId") && copySource:
			return UploadPartCopy, bucket, key
		case has("partNumber") && has("uploadId"):
			return UploadPart, bucket, key
		case anyOf(has, objectSubresources):
			return ObjectSubresource, bucket, key
		case copySource:
			return CopyObject, bucket, key
		default:
			return PutObject, bucket, key
		}
	case http.MethodGet:
		switch {
		case has("uploadId"):
			return ListParts, bucket, key
		case anyOf(has, objectSubresources):
			return ObjectSubresource, bucket, key
		default:
			return GetObject, bucket, key
		}
	case http.MethodHead:
		return HeadObject, bucket, key
	case http.MethodDelete:
		switch {
		case has("uploadId"):
			return AbortMultipartUpload, bucket, key
		case anyOf(has, objectSubresources):
			return ObjectSubresource, bucket, key
		default:
			return DeleteObject, bucket, key
		}
	}
	return Other, bucket, key
}

func classifyBucket(method string, q url.Values, has func(string) bool) Op {
	switch method {
	case http.MethodHead:
		return HeadBucket
	case http.MethodPost:
		if has("delete") {
			return DeleteObjects
		}
	case http.MethodGet:
		switch {
		case q.Get("list-type") == "2":
			return ListObjectsV2
		case has("versions"):
			return ListObjectVersions
		case has("uploads"):
			return ListMultipartUploads
		case has("location"):
			return GetBucketLocation
		}
		for k := range q {
			if !listV1Params[k] {
				return BucketSubresource
			}
		}
		return ListObjects
	}
	return BucketSubresource
}

func anyOf(has func(string) bool, keys []string) bool {
	for _, k := range keys {
		if has(k) {
			return true
		}
	}
	return false
}
