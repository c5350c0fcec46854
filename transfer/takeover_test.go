package transfer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/transfer"
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

// takeover runs task directly as a second attempt would, after an agent
// died running the first; the claim is a second in the future, so that
// what the test prepared counts as left by the dead attempt.
func (h *harness) takeover(task s3bridge.Task) (s3bridge.Result, []string, error) {
	h.t.Helper()
	task.ID, task.DatabaseName, task.Attempt = 42, "db", 2
	task.CreatedAt = time.Unix(1700000000, 123456789)
	r := &transfer.Runner{Deps: s3bridge.Deps[transfer.ObjectStore]{
		Store: func(context.Context, s3bridge.Settings) (transfer.ObjectStore, error) { return h.store, nil },
		Now:   func() time.Time { return time.Now().Add(time.Second) },
	}}
	set := h.set
	set.MaxUploadBytes, set.AllowedExtensions = 1<<30, []string{"*"}
	rep := &logReporter{}
	res, err := r.Run(h.t.Context(), nil, task, set, rep)
	return res, rep.lines, err
}

func (h *harness) putMeta(key, body string, meta map[string]string) {
	h.t.Helper()
	_, err := h.store.Upload(h.t.Context(), h.bucket, key, strings.NewReader(body), s3bridge.PutOptions{Metadata: meta})
	must(h.t, err)
}

func (h *harness) uploads(key string) int {
	h.t.Helper()
	out, err := h.minio.Admin(h.t).ListMultipartUploads(h.t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(h.bucket), Prefix: aws.String(key)})
	must(h.t, err)
	return len(out.Uploads)
}

func TestTakeoverUploadFile(t *testing.T) {
	h := newHarness(t, databases[0].Open)
	writeFile(t, filepath.Join(h.area, "a.txt"), "the file's new content")
	uri := "s3://" + h.bucket + "/up/a.txt"
	task := transfer.UploadFileTask("a.txt", uri, false)
	own := task
	own.ID, own.DatabaseName, own.CreatedAt = 42, "db", time.Unix(1700000000, 123456789)
	other := own
	other.ID = 43

	tests := []struct {
		name    string
		meta    map[string]string
		wantErr bool
	}{
		{"own tag", s3bridge.WriterMetadata(own), false},
		{"another task's tag", s3bridge.WriterMetadata(other), true},
		{"untagged", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.putMeta("up/a.txt", "old", tt.meta)
			_, _, err := h.takeover(task)
			got, _ := h.get("up/a.txt")
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "already exists") || got != "old" {
					t.Fatalf("got %v and %q, want already exists and the old object", err, got)
				}
				return
			}
			if err != nil || got != "the file's new content" {
				t.Fatalf("got %v and %q, want the object replaced", err, got)
			}
			obj, err := h.store.Stat(t.Context(), h.bucket, "up/a.txt")
			must(t, err)
			if !obj.WrittenBy(own) {
				t.Errorf("the replaced object's metadata %v: want the task's tag", obj.Metadata)
			}
		})
	}

	t.Run("own upload already complete", func(t *testing.T) {
		h.putMeta("up/a.txt", "the file's new content", s3bridge.WriterMetadata(own))
		before, err := h.store.Stat(t.Context(), h.bucket, "up/a.txt")
		must(t, err)
		_, log, err := h.takeover(task)
		must(t, err)
		after, err := h.store.Stat(t.Context(), h.bucket, "up/a.txt")
		must(t, err)
		if !strings.Contains(strings.Join(log, "\n"), "already uploaded") || after.ETag != before.ETag || !after.LastModified.Equal(before.LastModified) {
			t.Errorf("log %q, object %v then %v: want the earlier attempt's object kept", log, before, after)
		}
	})
}

func TestTakeoverAbortsUploads(t *testing.T) {
	h := newHarness(t, databases[0].Open)
	writeFile(t, filepath.Join(h.area, "b.txt"), "bbb")
	for _, key := range []string{"up/b.txt", "up/b.txt.bak"} {
		st, err := h.store.Stage(t.Context(), h.bucket, key, strings.NewReader("staged by a dead agent"), s3bridge.PutOptions{})
		must(t, err)
		_ = st // never committed nor aborted, as by a killed agent
	}
	_, log, err := h.takeover(transfer.UploadFileTask("b.txt", "s3://"+h.bucket+"/up/b.txt", false))
	must(t, err)
	if n := h.uploads("up/b.txt"); n != 0 {
		t.Errorf("%d multipart uploads of up/b.txt left, want none", n)
	}
	if n := h.uploads("up/b.txt.bak"); n != 1 {
		t.Errorf("%d multipart uploads of up/b.txt.bak, want the unrelated one kept", n)
	}
	if !strings.Contains(strings.Join(log, "\n"), "aborted 1 multipart uploads") {
		t.Errorf("log %q: want the abort logged", log)
	}
}

func TestTakeoverDownloadFile(t *testing.T) {
	h := newHarness(t, databases[0].Open)
	h.put("down/d.bin", "the object")
	task := transfer.DownloadFileTask("s3://"+h.bucket+"/down/d.bin", "d.bin", false)
	path := filepath.Join(h.area, "d.bin")
	partial := filepath.Join(h.area, ".s3bridge-d.bin-0123456789ab.part")
	writeFile(t, partial, "half")
	stranger := filepath.Join(h.area, ".s3bridge-e.bin-0123456789ab.part")
	writeFile(t, stranger, "another task's")

	// First a download at attempt 2 with nothing in place: it removes the
	// dead attempt's partial file only, and gives the file the object's time.
	_, _, err := h.takeover(task)
	must(t, err)
	obj, err := h.store.Stat(t.Context(), h.bucket, "down/d.bin")
	must(t, err)
	fi, err := os.Stat(path)
	must(t, err)
	if !fi.ModTime().Equal(obj.LastModified) || readFile(t, path) != "the object" {
		t.Errorf("downloaded file modified %s, want the object's %s", fi.ModTime(), obj.LastModified)
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Errorf("partial download left: %v", err)
	}
	if _, err := os.Stat(stranger); err != nil {
		t.Errorf("another target's partial download removed: %v", err)
	}

	// Run again: the file in place is the task's own download.
	_, log, err := h.takeover(task)
	if err != nil || !strings.Contains(strings.Join(log, "\n"), "already in place") {
		t.Errorf("retry over its own download: %v, log %q", err, log)
	}

	// A file of other origin is not the task's.
	writeFile(t, path, "some other file")
	if _, _, err := h.takeover(task); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("retry over another file: %v, want already exists", err)
	}
}
