package transfer_test

import (
	"bytes"
	"compress/gzip"
	"path/filepath"
	"testing"

	"github.com/s3bridge/s3bridge/transfer"
)

// TestOracleUpload checks upload_to_s3's prefix rules with the reference's
// own examples: p_prefix filters local names, p_s3_prefix is prepended to
// each name, subdirectories are never uploaded.
func TestOracleUpload(t *testing.T) {
	for _, db := range databases {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, db.Open)
			for _, f := range []string{"db1.dmp", "db2.dmp", "other.log", "sub/db3.dmp"} {
				writeFile(t, filepath.Join(h.pump, f), "content of "+f)
			}
			tests := []struct {
				prefix, s3Prefix string
				want             []string
			}{
				{"", "", []string{"db1.dmp", "db2.dmp", "other.log"}},
				{"db", "x/", []string{"x/db1.dmp", "x/db2.dmp"}},
				{"", "dbfiles/", []string{"dbfiles/db1.dmp", "dbfiles/db2.dmp", "dbfiles/other.log"}},
				{"", "dbfiles/ora", []string{"dbfiles/oradb1.dmp", "dbfiles/oradb2.dmp", "dbfiles/oraother.log"}},
			}
			for _, tc := range tests {
				h.bucket = h.minio.Bucket(t) // each example starts from an empty bucket
				h.ok(transfer.UploadDirectoryTask(transfer.DirectoryUpload{Bucket: h.bucket, Prefix: tc.prefix, S3Prefix: tc.s3Prefix, Directory: "DATA_PUMP_DIR"}))
				if got := h.keys(""); !equalKeys(got, tc.want...) {
					t.Errorf("p_prefix %q p_s3_prefix %q: got keys %v, want %v", tc.prefix, tc.s3Prefix, h.keys(""), tc.want)
				}
			}
			if body, _ := h.get("dbfiles/oradb1.dmp"); body != "content of db1.dmp" {
				t.Errorf("uploaded body: got %q", body)
			}
			// Compressed upload: name.gz holding the gzip of the file.
			h.ok(transfer.UploadDirectoryTask(transfer.DirectoryUpload{Bucket: h.bucket, Prefix: "other", S3Prefix: "gz/", Directory: "data_pump_dir", CompressionLevel: 6}))
			gz, ok := h.get("gz/other.log.gz")
			if !ok {
				t.Fatal("gz/other.log.gz not uploaded")
			}
			zr, err := gzip.NewReader(bytes.NewReader([]byte(gz)))
			must(t, err)
			var out bytes.Buffer
			out.ReadFrom(zr)
			if out.String() != "content of other.log" {
				t.Errorf("compressed upload decompresses to %q", out.String())
			}
			h.fails(transfer.UploadDirectoryTask(transfer.DirectoryUpload{Bucket: h.bucket, Directory: "NOPE"}), `directory object "NOPE" is not registered`)
		})
	}
}

// TestOracleDownload checks download_from_s3's prefix rules with the
// reference's folder_1/folder_2/folder_3 example, verbatim.
func TestOracleDownload(t *testing.T) {
	for _, db := range databases {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, db.Open)
			for _, k := range []string{"top.txt", "folder_1/a.txt", "folder_1/folder_2x.txt", "folder_1/folder_2/b.txt", "folder_1/folder_2/folder_3/c.txt"} {
				h.put(k, "object "+k)
			}
			tests := []struct {
				s3Prefix string
				want     []string
			}{
				{"folder_1/folder_2/", []string{"b.txt"}},
				{"folder_1/folder_2", []string{"folder_2x.txt"}},
				{"", []string{"top.txt"}},
			}
			for i, tc := range tests {
				dir := t.TempDir()
				h.set.Directories["D"+string(rune('A'+i))] = dir
				h.attach()
				h.ok(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: h.bucket, Directory: "D" + string(rune('A'+i)), S3Prefix: tc.s3Prefix}))
				got := listDir(t, dir)
				if !equalKeys(got, tc.want...) {
					t.Errorf("p_s3_prefix %q: got files %v, want %v", tc.s3Prefix, got, tc.want)
				}
			}
			// An existing local file of the same name is skipped, untouched.
			writeFile(t, filepath.Join(h.pump, "b.txt"), "local copy")
			done := h.ok(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: h.bucket, Directory: "DATA_PUMP_DIR", S3Prefix: "folder_1/folder_2/"}))
			if got := readFile(t, filepath.Join(h.pump, "b.txt")); got != "local copy" {
				t.Errorf("existing file overwritten: %q", got)
			}
			if done.TaskInfo != "downloaded 0 files from s3://"+h.bucket+"/folder_1/folder_2/ to DATA_PUMP_DIR, skipped 1 existing" {
				t.Errorf("task_info: %q", done.TaskInfo)
			}
			// GZIP decompression strips .gz.
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write([]byte("id,name\n1,a\n"))
			zw.Close()
			h.put("gz/data.csv.gz", buf.String())
			h.ok(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: h.bucket, Directory: "DATA_PUMP_DIR", S3Prefix: "gz/", Decompression: "GZIP"}))
			if got := readFile(t, filepath.Join(h.pump, "data.csv")); got != "id,name\n1,a\n" {
				t.Errorf("gunzipped: %q", got)
			}
			h.fails(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: h.bucket, Directory: "DATA_PUMP_DIR", S3Prefix: "nothing-here/", ErrorOnZero: "TRUE"}), "no objects to download")
			h.ok(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: h.bucket, Directory: "DATA_PUMP_DIR", S3Prefix: "nothing-here/"}))
			h.fails(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: h.bucket, Directory: "UNKNOWN_DIR"}), `"UNKNOWN_DIR" is not registered`)
			h.fails(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: "no-such-bucket-s3bridge", Directory: "DATA_PUMP_DIR"}), "no-such-bucket-s3bridge")
			noLeftovers(t, h.pump)
		})
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := filepathGlob(dir)
	must(t, err)
	return entries
}

func filepathGlob(dir string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, "*"))
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m, err
}
