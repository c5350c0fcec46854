package s3bridge

import (
	"context"
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
