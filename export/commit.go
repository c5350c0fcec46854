package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/s3bridge/s3bridge"
)

// commitKey is the key of the task's metadata under which an export
// records what it is about to commit (commitRecord).
const commitKey = "commit"

// commitRecord is what an export is about to make visible, written to the
// task's row before the first commit: an agent killed after the commits
// but before SUCCESS was recorded leaves it, and the attempt that takes the
// task over finishes those commits and reports these figures instead of
// running the query again, which in a versioned bucket would give every
// part a second version. It holds names and counts, never a secret.
type commitRecord struct {
	// Task is the task that wrote the record: a record copied along with
	// the metadata into another task is not that task's.
	Task int64 `json:"task"`
	// Uploads are the staged parts in order, then the manifest if any.
	Uploads   []stagedUpload `json:"uploads"`
	Overwrite bool           `json:"overwrite"`
	Rows      int64          `json:"rows"`
	Files     int64          `json:"files"`
	Bytes     int64          `json:"bytes"`
	Info      string         `json:"info"`
}

// stagedUpload is one staged object: its key and multipart upload ID.
type stagedUpload struct {
	Key      string `json:"key"`
	UploadID string `json:"upload_id"`
}

// commitRecorder is an instance that can record a commit under the task's
// claim (sqlstore.Store.RecordCommit); optional, found by type assertion:
// without it, or without an uploadResumer, an export records nothing and a
// takeover runs the export again over its own files.
type commitRecorder interface {
	RecordCommit(ctx context.Context, c s3bridge.Claim, key string, doc json.RawMessage) error
}

// uploadResumer completes a multipart upload another process staged
// (s3store.Client.Resume); ErrNotFound when it no longer exists.
type uploadResumer interface {
	Resume(ctx context.Context, bucket, key, uploadID string) (s3bridge.Object, error)
}

// uploadIDer is a staged object that tells its multipart upload ID
// (s3store.Staged).
type uploadIDer interface {
	UploadID() string
}

// recorded returns the commit record an earlier attempt of the task left,
// if any.
func recorded(t s3bridge.Task) (*commitRecord, error) {
	if t.Attempt <= 1 {
		return nil, nil
	}
	var meta struct {
		Commit *commitRecord `json:"commit"`
	}
	if err := t.Params(&meta); err != nil {
		return nil, fmt.Errorf("task %d commit record: %w", t.ID, err)
	}
	if meta.Commit == nil || meta.Commit.Task != t.ID {
		return nil, nil
	}
	return meta.Commit, nil
}

// record writes, before the commits, what they will make visible. It
// records nothing when the instance or the store can't take part; a lost
// claim fails it, so a superseded attempt never commits.
func (j *job) record(ctx context.Context, res s3bridge.Result) error {
	rec, ok := j.in.(commitRecorder)
	if _, canResume := j.store.(uploadResumer); !ok || !canResume {
		return nil
	}
	doc := commitRecord{Task: j.t.ID, Overwrite: j.pl.Overwrite, Rows: res.Rows, Files: res.Files, Bytes: res.Bytes, Info: res.Info}
	staged := j.ps.staged
	if j.ps.manifest != nil {
		staged = append(staged[:len(staged):len(staged)], j.ps.manifest)
	}
	for _, st := range staged {
		u, ok := st.(uploadIDer)
		if !ok {
			return nil
		}
		doc.Uploads = append(doc.Uploads, stagedUpload{Key: st.Key(), UploadID: u.UploadID()})
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return rec.RecordCommit(ctx, j.t.Claim(), commitKey, b)
}

// resume finishes the commits an earlier attempt recorded and was killed
// during or after: it completes each upload still open and checks that
// each other one is an object this task wrote, deletes the stale files as
// the overwrite would have, and returns the recorded figures.
func (j *job) resume(ctx context.Context, rec *commitRecord, claimed time.Time) (s3bridge.Result, error) {
	var none s3bridge.Result
	rs, ok := j.store.(uploadResumer)
	if !ok {
		return none, fmt.Errorf("task %d: an earlier attempt recorded its commits, but the object store can't complete them", j.t.ID)
	}
	ctx = context.WithoutCancel(ctx)
	completed := 0
	for _, u := range rec.Uploads {
		at := j.pl.loc.At(u.Key)
		if err := j.guard.Allow("s3:PutObject", at.ARN(), nil); err != nil {
			return none, err
		}
		obj, err := rs.Resume(ctx, j.pl.loc.Bucket, u.Key, u.UploadID)
		if err == nil {
			completed++
		} else if errors.Is(err, s3bridge.ErrNotFound) {
			obj, err = j.committed(ctx, u.Key)
		}
		if err != nil {
			return none, fmt.Errorf("complete the export an earlier attempt recorded: %w", s3bridge.ByServer("s3:PutObject", at, err))
		}
		if u.Key != j.ps.names.manifest() {
			j.ps.done = append(j.ps.done, obj)
		}
	}
	j.rep.Logf(s3bridge.LevelInfo, "an earlier attempt was killed after it recorded its commits: completed %d of its %d uploads, found the others committed",
		completed, len(rec.Uploads))
	j.abortLeftovers(ctx, claimed)
	if rec.Overwrite {
		if err := j.removeStale(ctx); err != nil {
			return none, err
		}
	}
	j.rep.Progress(rec.Bytes, rec.Bytes)
	// The outcome line is the agent's to write, once, as for any task.
	return s3bridge.Result{Info: rec.Info, Rows: rec.Rows, Files: rec.Files, Bytes: rec.Bytes}, nil
}

// committed returns the object at key, which must be this task's own: an
// upload the record names that no longer exists was completed, unless the
// bucket's lifecycle rule aborted it.
func (j *job) committed(ctx context.Context, key string) (s3bridge.Object, error) {
	at := j.pl.loc.At(key)
	st, ok := j.store.(interface {
		Stat(ctx context.Context, bucket, key string) (s3bridge.Object, error)
	})
	if !ok {
		return s3bridge.Object{}, fmt.Errorf("%s: the object store can't tell whether it was committed", at)
	}
	if err := j.guard.Allow("s3:GetObject", at.ARN(), nil); err != nil {
		return s3bridge.Object{}, err
	}
	obj, err := st.Stat(ctx, j.pl.loc.Bucket, key)
	if err != nil {
		return s3bridge.Object{}, fmt.Errorf("%s: its upload is gone: %w", at, err)
	}
	if !obj.WrittenBy(j.t) {
		return s3bridge.Object{}, fmt.Errorf("%s: %w, written by someone else since", at, s3bridge.ErrExists)
	}
	obj.Key = key
	return obj, nil
}
