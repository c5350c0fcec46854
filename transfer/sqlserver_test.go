package transfer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/transfer"
)

// TestSQLServerFiles covers rds_download_from_s3, rds_upload_to_s3,
// gather/list and delete with their flags and limits.
func TestSQLServerFiles(t *testing.T) {
	for _, db := range databases {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, db.Open)
			arn := func(key string) string { return "arn:aws:s3:::" + h.bucket + "/" + key }
			h.put("in/bulk_data.csv", "a,b\n1,2\n")

			// Download: default path, a new subfolder, overwrite rules.
			h.ok(transfer.DownloadFileTask(arn("in/bulk_data.csv"), "", false))
			if got := readFile(t, filepath.Join(h.area, "bulk_data.csv")); got != "a,b\n1,2\n" {
				t.Errorf("default path: got %q", got)
			}
			h.ok(transfer.DownloadFileTask("s3://"+h.bucket+"/in/bulk_data.csv", "seed_data/data.csv", true))
			if got := readFile(t, filepath.Join(h.area, "seed_data", "data.csv")); got != "a,b\n1,2\n" {
				t.Errorf("seed_data/data.csv: got %q", got)
			}
			writeFile(t, filepath.Join(h.area, "seed_data", "data.csv"), "local")
			h.fails(transfer.DownloadFileTask(arn("in/bulk_data.csv"), "seed_data/data.csv", false), "seed_data/data.csv", "already exists")
			if got := readFile(t, filepath.Join(h.area, "seed_data", "data.csv")); got != "local" {
				t.Errorf("file replaced without overwrite: %q", got)
			}
			h.ok(transfer.DownloadFileTask(arn("in/bulk_data.csv"), filepath.Join(h.area, "seed_data", "data.csv"), true))
			if got := readFile(t, filepath.Join(h.area, "seed_data", "data.csv")); got != "a,b\n1,2\n" {
				t.Errorf("overwrite with an absolute path in the area: got %q", got)
			}
			h.fails(transfer.DownloadFileTask(arn("in/bulk_data.csv"), "tool.exe", false), `".exe" is not allowed`)
			h.fails(transfer.DownloadFileTask(arn("in/missing.csv"), "", false), "in/missing.csv", "not found")
			h.fails(transfer.DownloadFileTask("arn:aws:s3:::no-such-bucket-s3b/x.csv", "", false), "no-such-bucket-s3b")
			h.fails(transfer.DownloadFileTask("arn:aws:s3:::"+h.bucket+"/", "", false), "names no object")

			// Upload: confirmed by S3, overwrite rules, missing file.
			writeFile(t, filepath.Join(h.area, "out", "report.csv"), "x\n1\n")
			h.ok(transfer.UploadFileTask("out/report.csv", arn("up/new_data.csv"), false))
			if got, _ := h.get("up/new_data.csv"); got != "x\n1\n" {
				t.Errorf("uploaded: got %q", got)
			}
			writeFile(t, filepath.Join(h.area, "out", "report.csv"), "changed\n")
			h.fails(transfer.UploadFileTask("out/report.csv", arn("up/new_data.csv"), false), "up/new_data.csv", "already exists")
			if got, _ := h.get("up/new_data.csv"); got != "x\n1\n" {
				t.Errorf("object replaced without overwrite: %q", got)
			}
			h.ok(transfer.UploadFileTask("out/report.csv", arn("up/new_data.csv"), true))
			if got, _ := h.get("up/new_data.csv"); got != "changed\n" {
				t.Errorf("overwritten object: %q", got)
			}
			h.fails(transfer.UploadFileTask("out/none.csv", arn("up/none.csv"), false), "out/none.csv", "not found")

			// Gather and list.
			done := h.ok(transfer.GatherTask())
			files, err := h.in.FileDetails(t.Context(), done.ID)
			must(t, err)
			var paths []string
			for _, f := range files {
				paths = append(paths, strings.TrimPrefix(f.FilePath, h.area))
				if f.FilePath == filepath.Join(h.area, "bulk_data.csv") && (f.SizeInBytes != 8 || f.IsDirectory || f.LastModifiedUTC.IsZero()) {
					t.Errorf("bulk_data.csv details: %+v", f)
				}
			}
			want := []string{"/bulk_data.csv", "/out/", "/out/report.csv", "/seed_data/", "/seed_data/data.csv"}
			if !equalKeys(paths, want...) {
				t.Errorf("gathered %v, want %v", paths, want)
			}

			// Delete: a file; a directory needs a trailing separator and force.
			h.ok(transfer.DeleteTask("bulk_data.csv", false))
			if _, err := os.Stat(filepath.Join(h.area, "bulk_data.csv")); !os.IsNotExist(err) {
				t.Errorf("bulk_data.csv still there: %v", err)
			}
			h.fails(transfer.DeleteTask("seed_data", true), "is a directory")
			h.fails(transfer.DeleteTask("seed_data/", false), "force_delete")
			h.ok(transfer.DeleteTask("seed_data/", true))
			if _, err := os.Stat(filepath.Join(h.area, "seed_data")); !os.IsNotExist(err) {
				t.Errorf("seed_data still there: %v", err)
			}
			h.fails(transfer.DeleteTask("gone.csv", false), "not found")
			h.fails(transfer.DeleteTask("/", true), "whole file area")
			h.fails(transfer.DeleteTask(h.area+"/", true), "whole file area")
			noLeftovers(t, h.area)
		})
	}
}

// TestPathsStayInside refuses, by name, every path or key that would leave
// its directory, and a symlink planted in the area.
func TestPathsStayInside(t *testing.T) {
	for _, db := range databases {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, db.Open)
			arn := "arn:aws:s3:::" + h.bucket + "/in/x.csv"
			h.put("in/x.csv", "1\n")
			outside := t.TempDir()
			writeFile(t, filepath.Join(outside, "secret.txt"), "outside")
			must(t, os.Symlink(outside, filepath.Join(h.area, "link")))
			bad := []string{"../x.csv", "a/../../x.csv", "/etc/passwd", `C:\x.csv`, `\\host\share\x.csv`, "link/secret.txt", "link/new.csv"}
			for _, p := range bad {
				d := h.fails(transfer.DownloadFileTask(arn, p, true), p)
				u := h.fails(transfer.UploadFileTask(p, "arn:aws:s3:::"+h.bucket+"/out/x.csv", true), p)
				for _, info := range []string{d.TaskInfo, u.TaskInfo} {
					if !strings.Contains(info, "outside") && !strings.Contains(info, "symlink") && !strings.Contains(info, "not allowed") {
						t.Errorf("%q: task_info %q does not say why", p, info)
					}
				}
				h.fails(transfer.DeleteTask(p, true), p)
			}
			if got := readFile(t, filepath.Join(outside, "secret.txt")); got != "outside" {
				t.Errorf("file outside the area changed: %q", got)
			}
			if _, err := os.Stat(filepath.Join(outside, "new.csv")); err == nil {
				t.Error("a download went through the planted symlink")
			}
			if keys := h.keys("out/"); len(keys) != 0 {
				t.Errorf("an upload read through a refused path: %v", keys)
			}
			// Object keys whose last element can't be a local name (MinIO
			// refuses ".." keys itself; LocalName's unit test covers them).
			h.put(`weird/a\b.txt`, "backslash")
			h.fails(transfer.DownloadFileTask("arn:aws:s3:::"+h.bucket+"/weird/a\\b.txt", "", true), `weird/a\b.txt`)
			h.fails(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: h.bucket, Directory: "DATA_PUMP_DIR", S3Prefix: "weird/"}), "does not name a file")
			if entries, _ := os.ReadDir(h.pump); len(entries) != 0 {
				t.Errorf("refused directory download still wrote %d files", len(entries))
			}
		})
	}
}

// TestAreaLimits checks the file-count limit and the upload size limit.
func TestAreaLimits(t *testing.T) {
	for _, db := range databases {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, db.Open)
			h.set.MaxFiles, h.set.MaxUploadBytes = 2, 10
			h.attach()
			h.put("f.csv", "12345678901234567890")
			h.ok(transfer.DownloadFileTask("s3://"+h.bucket+"/f.csv", "one.csv", false))
			h.ok(transfer.DownloadFileTask("s3://"+h.bucket+"/f.csv", "two.csv", false))
			h.fails(transfer.DownloadFileTask("s3://"+h.bucket+"/f.csv", "three.csv", false), "holds 2 files, its limit is 2")
			h.ok(transfer.DownloadFileTask("s3://"+h.bucket+"/f.csv", "two.csv", true)) // replacing adds no file
			h.fails(transfer.UploadFileTask("one.csv", "s3://"+h.bucket+"/big.csv", false), "20 bytes, over the 10-byte upload limit")
		})
	}
}
