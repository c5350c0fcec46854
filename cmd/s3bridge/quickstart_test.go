package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestQuickstart runs the tour exactly as README's first command does, with
// no server: every step must succeed and the task list must show it.
func TestQuickstart(t *testing.T) {
	var out, errOut bytes.Buffer
	e := &env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	if err := run(t.Context(), e, []string{"quickstart", "--dir", t.TempDir()}); err != nil {
		t.Fatalf("quickstart: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	got := out.String()
	if n := strings.Count(got, "SUCCESS"); n < 12 { // six "task N SUCCESS:" lines and six rows
		t.Errorf("quickstart output has %d SUCCESS, want 10:\n%s", n, got)
	}
	for _, want := range []string{"UPLOAD_TO_S3", "DOWNLOAD_FROM_S3", "LIST_FILES_ON_DISK", "restored/sample.csv", "everything is in", "table sales now has 3 rows", "LOAD_FROM_S3"} {
		if !strings.Contains(got, want) {
			t.Errorf("quickstart output lacks %q:\n%s", want, got)
		}
	}
}
