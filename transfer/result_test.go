package transfer_test

import (
	"path/filepath"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/transfer"
)

// TestResultColumns: each transfer's figures and a failure's error code are
// stored in the task's columns, read back from the database.
func TestResultColumns(t *testing.T) {
	for _, db := range databases {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, db.Open)
			writeFile(t, filepath.Join(h.pump, "a.dmp"), "12345")
			writeFile(t, filepath.Join(h.pump, "b.dmp"), "1234567")
			writeFile(t, filepath.Join(h.area, "one.csv"), "x,y\n")
			download := t.TempDir()
			h.set.Directories["DOWN"] = download
			h.attach()
			wantFigures := func(name string, done s3bridge.Task, files, bytes int64) {
				t.Helper()
				if done.Rows != 0 || done.Files != files || done.Bytes != bytes || done.ErrorCode != "" {
					t.Errorf("%s: rows %d, files %d, bytes %d, code %q; want 0, %d, %d and none",
						name, done.Rows, done.Files, done.Bytes, done.ErrorCode, files, bytes)
				}
			}
			wantFigures("directory upload", h.ok(transfer.UploadDirectoryTask(transfer.DirectoryUpload{Bucket: h.bucket, S3Prefix: "d/", Directory: "DATA_PUMP_DIR"})), 2, 12)
			wantFigures("directory download", h.ok(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: h.bucket, S3Prefix: "d/", Directory: "DOWN"})), 2, 12)
			wantFigures("file upload", h.ok(transfer.UploadFileTask("one.csv", "s3://"+h.bucket+"/f/one.csv", false)), 1, 4)
			wantFigures("file download", h.ok(transfer.DownloadFileTask("s3://"+h.bucket+"/d/b.dmp", "b.txt", false)), 1, 7)
			// The area now holds one.csv and b.txt.
			wantFigures("gather", h.ok(transfer.GatherTask()), 2, 11)

			for _, tc := range []struct {
				name string
				task s3bridge.Task
				code string
			}{
				{"missing object", transfer.DownloadFileTask("s3://"+h.bucket+"/none.csv", "", false), s3bridge.CodeNotFound},
				{"existing object", transfer.UploadFileTask("one.csv", "s3://"+h.bucket+"/f/one.csv", false), s3bridge.CodeExists},
				{"path outside the area", transfer.UploadFileTask("../x.csv", "s3://"+h.bucket+"/x.csv", false), s3bridge.CodeOutsideDirectory},
				{"extension not allowed", transfer.DownloadFileTask("s3://"+h.bucket+"/d/b.dmp", "b.exe", false), s3bridge.CodeLimit},
			} {
				if done := h.fails(tc.task); done.ErrorCode != tc.code {
					t.Errorf("%s: error code %q, want %q (%s)", tc.name, done.ErrorCode, tc.code, done.TaskInfo)
				}
			}
			h.set.Grants = []s3bridge.Grant{{Feature: "S3_INTEGRATION", Bucket: h.bucket, Prefixes: []string{"allowed/"}}}
			h.attach()
			if done := h.fails(transfer.UploadFileTask("one.csv", "s3://"+h.bucket+"/other/one.csv", false)); done.ErrorCode != s3bridge.CodeAccessDenied {
				t.Errorf("denied by the instance's policy: error code %q, want %q", done.ErrorCode, s3bridge.CodeAccessDenied)
			}
		})
	}
}
