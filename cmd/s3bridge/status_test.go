package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge"
)

// TestStatusFigures: status shows a task's result figures and error code,
// as numbers in --json.
func TestStatusFigures(t *testing.T) {
	tasks := []s3bridge.Task{
		{ID: 1, Type: s3bridge.TaskExportToS3, Lifecycle: s3bridge.Success, TaskInfo: "exported 10 rows", Rows: 10, Files: 2, Bytes: 4096},
		{ID: 2, Type: s3bridge.TaskLoadFromS3, Lifecycle: s3bridge.Failed, TaskInfo: "denied", ErrorCode: s3bridge.CodeAccessDenied},
	}
	var out bytes.Buffer
	if err := printTasks(&env{stdout: &out}, &common{json: true}, tasks); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("status --json: %v in %s", err, out.String())
	}
	if len(got) != 2 || got[0]["rows_processed"] != 10.0 || got[0]["files_processed"] != 2.0 || got[0]["bytes_processed"] != 4096.0 ||
		got[0]["error_code"] != nil || got[1]["error_code"] != s3bridge.CodeAccessDenied {
		t.Errorf("status --json: %s", out.String())
	}
	out.Reset()
	if err := printTasks(&env{stdout: &out}, &common{}, tasks); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	if !strings.Contains(lines[0], "ROWS") || !strings.Contains(lines[1], " 10 ") || !strings.Contains(lines[1], " 4096 ") ||
		!strings.Contains(lines[2], s3bridge.CodeAccessDenied) {
		t.Errorf("status:\n%s", out.String())
	}
}
