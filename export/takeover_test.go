package export_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

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
// its own files and writes them again over them, where another task's
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
