package s3bridge

import (
	"context"
	"fmt"
	"time"
)

// Object describes a stored object. ETag is as S3 returns it, quotes
// included, ready for If-Match.
type Object struct {
	Key          string
	Size         int64
	ETag         string
	LastModified time.Time
	VersionID    string
	// StorageClass is S3's (STANDARD, GLACIER, DEEP_ARCHIVE…); "" when
	// the store does not say, which means STANDARD.
	StorageClass string
	// Metadata is the object's user metadata (x-amz-meta-*), keys in lower
	// case without the prefix; only Stat fills it.
	Metadata map[string]string
}

// PutOptions tune an upload.
type PutOptions struct {
	ContentType string
	// IfNoneMatch refuses to overwrite: the upload fails with an error
	// satisfying s3bridge.ErrExists when the key exists, checked before
	// sending and again atomically by S3 (If-None-Match: *) at the end.
	IfNoneMatch bool
	// Progress, if not nil, gets the running total of bytes S3 has
	// confirmed, from one goroutine at a time.
	Progress func(n int64)
	// Metadata is stored as the object's user metadata, each key sent as
	// x-amz-meta-KEY (see WriterMetadata).
	Metadata map[string]string
}

// MetaTask is the user metadata key (x-amz-meta-s3bridge-task) naming the
// task that wrote an object.
const MetaTask = "s3bridge-task"

// WriterTag names a task across claims and agents: its instance's
// database, id and creation time, so that a task of a recreated queue
// reusing the id is another writer.
func WriterTag(t Task) string {
	return fmt.Sprintf("%s/%d/%d", t.DatabaseName, t.ID, t.CreatedAt.UnixNano())
}

// WriterMetadata is the user metadata a task puts on what it writes, so a
// later attempt of the same task, taking over from a killed agent, can
// tell its own earlier output from anyone else's.
func WriterMetadata(t Task) map[string]string {
	return map[string]string{MetaTask: WriterTag(t)}
}

// WrittenBy reports whether t wrote o (o from Stat, which reads the
// metadata). An object written by another task, or untagged, is not t's.
func (o Object) WrittenBy(t Task) bool {
	return o.Metadata[MetaTask] == WriterTag(t)
}

// UploadAborter is an object store that can abort the incomplete multipart
// uploads a killed writer left behind; it is optional, found by type
// assertion, so stores without it (fakes, other backends) skip the
// cleanup.
type UploadAborter interface {
	// AbortUploads aborts the multipart uploads under prefix initiated
	// before initiatedBefore whose key match accepts (nil: every key), and
	// returns how many it aborted.
	AbortUploads(ctx context.Context, bucket, prefix string, initiatedBefore time.Time, match func(key string) bool) (int, error)
}

// StagedObject is an upload whose bytes the object store holds but does
// not show: the object appears, replacing any old one at its key, only
// when Commit succeeds, and Abort discards it (s3store.Client.Stage).
type StagedObject interface {
	Key() string
	Size() int64
	Commit(ctx context.Context) (Object, error)
	Abort(ctx context.Context)
}
