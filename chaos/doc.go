// Package chaos is s3bridge's S3 fault-injection suite (issue 8): it has
// no code, only tests. Each test runs a data path — upload (one file, a
// directory), download (one object, a prefix), load (PostgreSQL, MariaDB,
// SQLite), export (CSV and Parquet, several files) — as a real task,
// in-process, against MinIO behind internal/faultproxy, with one fault:
//
//   - 500 InternalError and 503 SlowDown twice in a row on each of
//     CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
//     PutObject, GetObject and ListObjectsV2 the path sends: the task must
//     succeed on the SDK's retries;
//   - a 200 OK CompleteMultipartUpload whose body is an <Error>, twice
//     (must succeed) and always (must fail: never taken as success);
//   - a connection reset in the middle of a GET body and of an UploadPart
//     body, and a GET body cut short of its Content-Length;
//   - 2 s of latency on every request: the task still completes, and a
//     cancel stops its transfers within a second (TestCancelUnderLatency);
//   - a persistent 503, on one operation or on every request: the task
//     ends in ERROR naming the operation and the object, within the retry
//     budget.
//
// After each task the test checks, through MinIO directly, what landed:
// checksums of the bytes (objects, files), the count and checksum of the
// table's rows (loads: unchanged when the load failed), and leftovers:
// multipart uploads (ListMultipartUploads), extra versions of an object in
// a versioned bucket (ListObjectVersions: a double write), temporary files,
// objects a failed single-object task left. A directory transfer works
// file by file as Oracle's does: the files it finished before it failed
// stay, whole, and count as neither lost nor left over.
//
// The client under test has 5 MiB parts (multipart paths are exercised)
// and 3 attempts per request, so "twice then success" sits at the edge of
// the retry budget and a persistent failure ends in seconds.
//
// go test ./chaos/ runs the short matrix (each operation gets one of the
// two statuses, and the persistent failure hits one operation per path
// plus every request); S3BRIDGE_CHAOS=full runs every combination. With
// -v, the run ends with the figures table (bench/chaos.sh prints it).
package chaos
