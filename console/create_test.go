package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/export"
	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/token"
	"github.com/s3bridge/s3bridge/transfer"
)

// post sends body as JSON with the secret and decodes the answer into v
// (when not nil); it returns the status.
func (f *fixture) post(method, path, secret string, body any, v any) int {
	f.t.Helper()
	var r *bytes.Reader
	if s, ok := body.(string); ok {
		r = bytes.NewReader([]byte(s))
	} else {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	res := f.do(method, path, secret, r)
	defer res.Body.Close()
	if v != nil {
		if err := json.NewDecoder(res.Body).Decode(v); err != nil {
			f.t.Fatalf("%s %s: %d, body is not JSON: %v", method, path, res.StatusCode, err)
		}
	}
	return res.StatusCode
}

// TestCreateTasks: each creation route queues for an agent the task the
// CLI command builds from the same parameters (built here from the
// transfer, load and export packages, as the commands' flags fill them),
// and refuses what the command refuses, with its words, before a task
// exists.
func TestCreateTasks(t *testing.T) {
	f := newFixture(t, Config{})
	in := f.ins[0]
	mustLoad := func(p load.Params) s3bridge.Task {
		task, err := load.Task(p)
		if err != nil {
			t.Fatal(err)
		}
		return task
	}
	tests := []struct {
		route string
		body  string
		want  s3bridge.Task
	}{
		{"upload", `{"bucket": "bkt", "s3_prefix": "backups/", "compression_level": 6}`,
			transfer.UploadDirectoryTask(transfer.DirectoryUpload{Bucket: "bkt", Directory: s3bridge.DefaultDirectory, S3Prefix: "backups/", CompressionLevel: 6})},
		{"upload-file", `{"file_path": "data/a.csv", "s3_uri": "s3://bkt/in/a.csv", "overwrite": true}`,
			transfer.UploadFileTask("data/a.csv", "s3://bkt/in/a.csv", true)},
		{"download", `{"bucket": "bkt", "directory": "EXPORTS", "gunzip": true, "error_on_zero": true}`,
			transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: "bkt", Directory: "EXPORTS", Decompression: "GZIP", ErrorOnZero: "TRUE"})},
		{"download-file", `{"s3_uri": "arn:aws:s3:::bkt/in/a.csv"}`, transfer.DownloadFileTask("arn:aws:s3:::bkt/in/a.csv", "", false)},
		{"load", `{"table": "public.sales", "uri": "s3://bkt/sales/", "prefix": true, "header": true, "columns": ["id", " amount "], "null": "NA"}`,
			mustLoad(load.Params{Source: load.SourcePrefix, URI: "s3://bkt/sales/", Schema: "public", Table: "sales", Columns: []string{"id", "amount"},
				Options: format.Options{Format: "csv", Header: true, NullString: "NA"}})},
		{"export", `{"query": "SELECT * FROM sales", "uri": "s3://bkt/out/sales", "format": "parquet", "max_file_size": "100MB", "manifest": true}`,
			export.Task(export.Params{Query: "SELECT * FROM sales", URI: "s3://bkt/out/sales", Format: "parquet", MaxFileSize: 100_000_000,
				Manifest: true, Naming: export.NamingAurora})},
		{"export", `{"query": "SELECT 1", "uri": "s3://bkt/out/one", "max_file_size": 1048576}`,
			export.Task(export.Params{Query: "SELECT 1", URI: "s3://bkt/out/one", Format: "csv", MaxFileSize: 1 << 20, Naming: export.NamingAurora})},
	}
	for _, tt := range tests {
		var q queued
		path := "/api/instances/app/tasks/" + tt.route
		if status := f.post("POST", path, f.tokens[token.Operator], tt.body, &q); status != http.StatusAccepted || q.Instance != "app" || q.TaskID == 0 {
			t.Errorf("%s: %d %+v", tt.route, status, q)
			continue
		}
		got, err := in.Task(t.Context(), q.TaskID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != tt.want.Type || got.S3ObjectARN != tt.want.S3ObjectARN || got.FilePath != tt.want.FilePath ||
			got.Overwrite != tt.want.Overwrite || got.Lifecycle != s3bridge.Created || !sameJSON(got.Metadata, tt.want.Metadata) {
			t.Errorf("%s: queued %s %s %q %q %v %s\nwant %s %q %q %v %s", tt.route, got.Type, got.Lifecycle, got.S3ObjectARN, got.FilePath, got.Overwrite, got.Metadata,
				tt.want.Type, tt.want.S3ObjectARN, tt.want.FilePath, tt.want.Overwrite, tt.want.Metadata)
		}
	}
	before, _ := in.Tasks(t.Context())
	bad := []struct {
		route, body, msg string
	}{
		{"upload", `{}`, "bucket is required"},
		{"upload", `{"bucket": "Not_A_Bucket"}`, "bucket: "},
		{"upload", `{"bucket": "bkt", "bogus": 1}`, `unknown field "bogus"`},
		{"upload", ``, "has no body"},
		{"download", `{"bucket": ""}`, "bucket is required"},
		{"upload-file", `{"s3_uri": "s3://bkt/in/a.csv"}`, "file_path is required"},
		{"upload-file", `{"file_path": "a.csv", "s3_uri": "s3://bkt/in/"}`, "names no object"},
		{"download-file", `{"s3_uri": "ftp://bkt/k"}`, "ftp://bkt/k"},
		{"load", `{"table": "t", "uri": "s3://bkt/k", "prefix": true, "manifest": true}`, "prefix and manifest exclude each other"},
		{"load", `{"table": "t", "uri": "s3://bkt/k", "format": "yaml"}`, "yaml"},
		{"export", `{"uri": "s3://bkt/out"}`, "query is required"},
		{"export", `{"query": "DELETE FROM sales", "uri": "s3://bkt/out"}`, "SELECT"},
		{"export", `{"query": "SELECT 1", "uri": "s3://bkt/out", "max_file_size": "1,5GB"}`, "1,5GB"},
		{"export", `{"query": "SELECT 1", "uri": "s3://bkt/out", "format": "xlsx"}`, "xlsx"},
	}
	for _, tt := range bad {
		var e apiError
		status := f.post("POST", "/api/instances/app/tasks/"+tt.route, f.tokens[token.Operator], tt.body, &e)
		if status != http.StatusBadRequest || e.Code != "bad_request" || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("%s %s: %d %+v, want 400 bad_request saying %q", tt.route, tt.body, status, e, tt.msg)
		}
	}
	if after, _ := in.Tasks(t.Context()); len(after) != len(before) {
		t.Errorf("refused requests made %d task(s)", len(after)-len(before))
	}
	var e apiError
	if status := f.post("POST", "/api/instances/nope/tasks/upload", f.tokens[token.Operator], `{"bucket": "bkt"}`, &e); status != 404 {
		t.Errorf("an instance not served: %d %+v", status, e)
	}
}

// sameJSON reports whether two JSON documents hold the same values.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
