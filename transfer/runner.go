package transfer

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
)

// ObjectStore is what transfers need from S3; *s3store.Client has it.
type ObjectStore interface {
	// List returns the objects under prefix and, with a delimiter, the
	// common prefixes ("folders") one level down.
	List(ctx context.Context, bucket, prefix, delimiter string) ([]s3bridge.Object, []string, error)
	// Stat returns an object's attributes or an error wrapping ErrNotFound.
	Stat(ctx context.Context, bucket, key string) (s3bridge.Object, error)
	// Download writes the object to w, in parallel ranges.
	Download(ctx context.Context, bucket, key string, w io.WriterAt, progress func(n int64)) (s3bridge.Object, error)
	// Open streams the object.
	Open(ctx context.Context, bucket, key string) (io.ReadCloser, s3bridge.Object, error)
	// Upload streams r to the key and returns once S3 confirmed it.
	Upload(ctx context.Context, bucket, key string, r io.Reader, opts s3bridge.PutOptions) (s3bridge.Object, error)
}

// Runner runs the transfer task types.
type Runner struct {
	// Deps are the object store and the instance's policy (see
	// s3bridge.Deps), wired by cmd/s3bridge as for every capability.
	Deps s3bridge.Deps[ObjectStore]
	// Concurrency is how many files a directory task moves at once
	// (default 16); each large file is itself moved in parallel parts.
	Concurrency int
}

// Run runs one task (agent.Runner). A transfer needs only the instance's
// settings, not the instance itself.
func (r *Runner) Run(ctx context.Context, _ instance.Instance, t s3bridge.Task, set s3bridge.Settings, rep s3bridge.Reporter) (s3bridge.Result, error) {
	var none s3bridge.Result
	// The mode and group of what the task may create; a delete creates
	// nothing and needs no valid setting for it.
	perm, permErr := PermOf(set)
	switch t.Type {
	case s3bridge.TaskListFiles:
		if permErr != nil {
			return none, permErr
		}
		return gather(ctx, set, perm, rep)
	case s3bridge.TaskDeleteFiles:
		var p Delete
		if err := t.Params(&p); err != nil {
			return none, fmt.Errorf("task %d parameters: %w", t.ID, err)
		}
		return deleteFiles(set, p, rep)
	case s3bridge.TaskUpload, s3bridge.TaskDownload:
	default:
		return none, fmt.Errorf("task %d: transfer can't run a %s task", t.ID, t.Type)
	}
	if permErr != nil {
		return none, permErr
	}
	k, err := kind(t)
	if err != nil {
		return none, err
	}
	store, guard, err := r.Deps.Open(ctx, set, t.DatabaseName)
	if err != nil {
		return none, err
	}
	j := &job{store: store, set: set, rep: rep, concurrency: cmp.Or(r.Concurrency, 16), guard: guard, perm: perm,
		task: t, claimed: r.Deps.Clock()()}
	switch {
	case k == KindDirectory && t.Type == s3bridge.TaskUpload:
		var p DirectoryUpload
		if err := t.Params(&p); err != nil {
			return none, fmt.Errorf("task %d parameters: %w", t.ID, err)
		}
		return j.uploadDirectory(ctx, p)
	case k == KindDirectory:
		var p DirectoryDownload
		if err := t.Params(&p); err != nil {
			return none, fmt.Errorf("task %d parameters: %w", t.ID, err)
		}
		return j.downloadDirectory(ctx, p)
	case k == KindFile:
		var p FileTransfer
		if err := t.Params(&p); err != nil {
			return none, fmt.Errorf("task %d parameters: %w", t.ID, err)
		}
		if t.Type == s3bridge.TaskUpload {
			return j.uploadFile(ctx, p)
		}
		return j.downloadFile(ctx, p)
	}
	return none, fmt.Errorf("task %d: unknown transfer kind %q", t.ID, k)
}

// job is one running transfer.
type job struct {
	store       ObjectStore
	set         s3bridge.Settings
	rep         s3bridge.Reporter
	concurrency int
	guard       s3bridge.Guard
	// maxDecompressed caps each gunzipped download; 0 means
	// DefaultMaxDecompressed.
	maxDecompressed int64
	perm            Perm // mode and group of what downloads create
	// task is the task being run: its attempt tells a takeover, and its
	// tag (s3bridge.WriterTag) marks the objects it writes. claimed is
	// when this attempt started: what a killed attempt left is older.
	task        s3bridge.Task
	claimed     time.Time
	done, total atomic.Int64
	pendingSyncs
}

func (j *job) add(n int64) {
	j.rep.Progress(j.done.Add(n), j.total.Load())
}

// tracker turns one transfer's running totals into additions to the job's
// progress. Each transfer reports from one goroutine at a time.
func (j *job) tracker() func(total int64) {
	var last int64
	return func(total int64) {
		j.add(total - last)
		last = total
	}
}

// publicChecker is implemented by stores that can tell a public bucket;
// publicExplainer by those that can also say why.
type publicChecker interface {
	Public(ctx context.Context, bucket string) (bool, error)
}

type publicExplainer interface {
	PublicReason(ctx context.Context, bucket string) (string, error)
}

// notPublic refuses a bucket anyone may list, read or write, as RDS does
// for file transfer: files from a database host must not land where all can
// read, nor be taken from where anyone can plant them.
func (j *job) notPublic(ctx context.Context, bucket string) error {
	if j.set.AllowPublicBuckets {
		return nil
	}
	why := ""
	switch pc := j.store.(type) {
	case publicExplainer:
		var err error
		if why, err = pc.PublicReason(ctx, bucket); err != nil {
			return err
		}
	case publicChecker:
		public, err := pc.Public(ctx, bucket)
		if err != nil {
			return err
		}
		if public {
			why = "anyone may use it without credentials"
		}
	}
	if why != "" {
		return fmt.Errorf("bucket %s is open to the public: %s; s3bridge refuses it for file transfer, as RDS does: %w", bucket, why, s3bridge.ErrAccessDenied)
	}
	return nil
}
