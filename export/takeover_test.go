package export_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/export"
)

// logReporter keeps a task's log lines for the test.
type logReporter struct{ lines []string }

func (r *logReporter) Logf(_ s3bridge.LogLevel, format string, args ...any) {
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}
func (r *logReporter) Progress(int64, int64) {}
func (r *logReporter) SaveFileDetails(context.Context, []s3bridge.FileDetail) error {
	return nil
}

// TestTakeoverExport: an agent killed after committing an export's parts
// but before recording SUCCESS leaves them; the task's next attempt finds
// its own files (committed, as its record says), where another task's
// export to the same place still fails "already exists".
func TestTakeoverExport(t *testing.T) {
	d := dbNamed("postgres")
	h := newHarness(t, d)
	p := export.Params{URI: h.uri("aur/x"), Format: export.FormatCSV, MaxFileSize: 8 << 10, Query: d.series(3000, 0)}
	first := h.ok(p) // three parts of 8 KiB
	want := h.keys("aur/")
	var body [][]byte
	for _, k := range want {
		body = append(body, h.get(k))
	}
	// The dead attempt had also staged a part it never committed.
	_, err := h.store.Stage(t.Context(), h.bucket, "aur/x.part_00003", strings.NewReader("staged"), s3bridge.PutOptions{})
	must(t, err)

	run := func(task s3bridge.Task) ([]string, error) {
		rep := &logReporter{}
		r := *h.runner
		r.Deps.Now = func() time.Time { return time.Now().Add(time.Second) }
		_, err := r.Run(t.Context(), h.in, task, s3bridge.Settings{}, rep)
		return rep.lines, err
	}
	other := first
	other.ID, other.Attempt = first.ID+1000, 2
	if _, err := run(other); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("another task over the export's files: %v, want already exists", err)
	}

	retry := first
	retry.Attempt = 2
	log, err := run(retry)
	if err != nil {
		t.Fatalf("attempt 2 over its own files: %v\nlog: %q", err, log)
	}
	got := h.keys("aur/")
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("keys %v after the retry, want %v", got, want)
	}
	for i, k := range got {
		if !bytes.Equal(h.get(k), body[i]) {
			t.Errorf("%s differs after the retry", k)
		}
	}
	h.uploadsOf("aur/x.part_00000", "aur/x.part_00003", "aur/x.manifest")
	if !strings.Contains(strings.Join(log, "\n"), "aborted 1 multipart uploads") {
		t.Errorf("log %q: want the dead attempt's upload aborted", log)
	}
}

var errKilled = errors.New("agent killed")

// TestTakeoverRecordedCommit: an agent killed once it recorded its commits
// (after them, before them, or between them) leaves the task to another
// attempt, which completes what the record names without running the query
// again (its table is gone by then) and reports the recorded figures; in a
// versioned bucket every file has one version, not a second one.
func TestTakeoverRecordedCommit(t *testing.T) {
	tests := []struct {
		name          string
		kill          string // Runner hook point
		completeFirst bool   // complete the first part's upload before the takeover
	}{
		{"after the commits", "committed", false},
		{"before the commits", "recorded", false},
		{"between the commits", "recorded", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachDB(t, func(t *testing.T, d db) {
				h := newHarness(t, d)
				h.versioned()
				h.exec(d.table(1000)...)
				p := export.Params{URI: h.uri("ref/x"), Format: export.FormatCSV, MaxFileSize: 8 << 10, Query: "SELECT * FROM t", Manifest: true}
				h.ok(p)
				ref := h.keys("ref/")
				p.URI = h.uri("v/x")

				first := h.claim(export.Task(p), "agent-1")
				r := *h.runner
				export.KillAt(&r, func(point string) error {
					if point == tc.kill {
						return errKilled
					}
					return nil
				})
				if _, err := r.Run(t.Context(), h.in, *first, s3bridge.Settings{}, &logReporter{}); !errors.Is(err, errKilled) {
					t.Fatalf("attempt 1: %v, want killed", err)
				}
				if tc.completeFirst {
					h.completeUpload("v/x.part_00000")
				}
				h.exec("DROP TABLE t") // a query run again would fail

				second := h.claimAgain(first.ID, "agent-2")
				rep := &logReporter{}
				res, err := h.runner.Run(t.Context(), h.in, *second, s3bridge.Settings{}, rep)
				if err != nil {
					t.Fatalf("attempt 2: %v\nlog: %q", err, rep.lines)
				}
				got := h.keys("v/")
				if len(got) != len(ref) || len(got) < 3 {
					t.Fatalf("keys %v, want the %d of %v", got, len(ref), ref)
				}
				var size int64
				for i, k := range got {
					if strings.HasSuffix(k, ".manifest") {
						continue
					}
					body := h.get(k)
					size += int64(len(body))
					if !bytes.Equal(body, h.get(ref[i])) {
						t.Errorf("%s differs from %s", k, ref[i])
					}
				}
				want := s3bridge.Result{Rows: 1000, Files: int64(len(got) - 1), Bytes: size}
				if res.Rows != want.Rows || res.Files != want.Files || res.Bytes != want.Bytes || !strings.HasPrefix(res.Info, "exported 1000 rows") {
					t.Errorf("result %+v, want %+v", res, want)
				}
				for _, k := range got {
					if n := h.versions(k); n != 1 {
						t.Errorf("%s has %d versions, want 1", k, n)
					}
				}
				h.uploadsOf(got...)
			})
		})
	}
}

// versioned turns versioning on in the harness's bucket, and deletes
// every version at cleanup, before the bucket itself is deleted.
func (h *harness) versioned() {
	h.t.Helper()
	admin := h.minio.Admin(h.t)
	_, err := admin.PutBucketVersioning(h.t.Context(), &s3.PutBucketVersioningInput{Bucket: aws.String(h.bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	must(h.t, err)
	h.t.Cleanup(func() {
		ctx := context.Background()
		out, err := admin.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(h.bucket)})
		if err != nil {
			h.t.Errorf("list versions: %v", err)
			return
		}
		del := func(key, version *string) {
			_, err := admin.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(h.bucket), Key: key, VersionId: version})
			if err != nil {
				h.t.Errorf("delete %s version %s: %v", aws.ToString(key), aws.ToString(version), err)
			}
		}
		for _, v := range out.Versions {
			del(v.Key, v.VersionId)
		}
		for _, m := range out.DeleteMarkers {
			del(m.Key, m.VersionId)
		}
	})
}

// versions counts the versions of key.
func (h *harness) versions(key string) int {
	h.t.Helper()
	out, err := h.minio.Admin(h.t).ListObjectVersions(h.t.Context(), &s3.ListObjectVersionsInput{Bucket: aws.String(h.bucket), Prefix: aws.String(key)})
	must(h.t, err)
	n := 0
	for _, v := range out.Versions {
		if aws.ToString(v.Key) == key {
			n++
		}
	}
	return n
}

// completeUpload completes the one multipart upload of key.
func (h *harness) completeUpload(key string) {
	h.t.Helper()
	out, err := h.minio.Admin(h.t).ListMultipartUploads(h.t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(h.bucket), Prefix: aws.String(key)})
	must(h.t, err)
	if len(out.Uploads) != 1 {
		h.t.Fatalf("%d uploads of %s, want 1", len(out.Uploads), key)
	}
	_, err = h.store.Resume(h.t.Context(), h.bucket, key, aws.ToString(out.Uploads[0].UploadId))
	must(h.t, err)
}

// claim enqueues task and claims it for agent with a lease that is over at
// once, so that claimAgain can take it over.
func (h *harness) claim(task s3bridge.Task, agent string) *s3bridge.Task {
	h.t.Helper()
	id, err := h.in.Enqueue(h.t.Context(), task)
	must(h.t, err)
	c, err := h.in.ClaimTask(h.t.Context(), id, agent, time.Millisecond)
	must(h.t, err)
	if c == nil {
		h.t.Fatalf("task %d not claimable", id)
	}
	return c
}

// claimAgain takes task id over for agent once its lease has run out.
func (h *harness) claimAgain(id int64, agent string) *s3bridge.Task {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := h.in.ClaimTask(h.t.Context(), id, agent, time.Minute)
		must(h.t, err)
		if c != nil {
			return c
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("task %d not taken over", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
