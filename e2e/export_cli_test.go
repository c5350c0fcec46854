package e2e

import (
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "modernc.org/sqlite" // the test's own connection to the SQLite instance

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// These tests need the export verb in main.go's commands, the sql verb
// routed to runExportStatement, and the export runner in open.go's
// runners().

func getObject(t *testing.T, w *world, key string) string {
	t.Helper()
	out, err := w.minio.Admin(t).GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(w.bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func listKeys(t *testing.T, w *world, prefix string) []string {
	t.Helper()
	out, err := w.minio.Admin(t).ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(w.bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// TestExportCLI: the export and sql verbs on SQLite, in-process and through
// an agent, and what they refuse.
func TestExportCLI(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	db := "sqlite://" + filepath.Join(t.TempDir(), "app.db")
	w.mustCLI("attach", "--db", db, "--endpoint", w.minio.Endpoint)
	lite := openDB(t, "sqlite", strings.TrimPrefix(db, "sqlite://"))
	for _, q := range []string{`CREATE TABLE sales (id INTEGER, name TEXT, amount REAL)`,
		`INSERT INTO sales VALUES (1, 'apple', 1.5), (2, 'pear, ripe', 2.25), (3, NULL, 3)`} {
		if _, err := lite.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	b := w.bucket
	out := w.mustCLI("export", "--db", db, "--query", "SELECT * FROM sales ORDER BY id", "--header", "--manifest", "s3://"+b+"/cli/sales")
	contains(t, "export", out, "SUCCESS", "exported 3 rows in 1 files")
	if got := getObject(t, w, "cli/sales.part_00000"); got != "id,name,amount\n1,apple,1.5\n2,\"pear, ripe\",2.25\n3,,3\n" {
		t.Errorf("cli/sales.part_00000 = %q", got)
	}
	if _, err := w.cli("export", "--db", db, "--query", "SELECT 1", "s3://"+b+"/cli/sales"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("export over an existing file without --overwrite: %v", err)
	}
	out = w.mustCLI("export", "--db", db, "--query", "SELECT * FROM sales", "--format", "parquet", "--compress", "zstd", "s3://"+b+"/cli/pq")
	contains(t, "parquet export", out, "SUCCESS", "cli/pq.part_00000")
	out = w.mustCLI("sql", "--db", db, "SELECT id, name INTO OUTFILE S3 's3://"+b+"/cli/stmt' FIELDS TERMINATED BY '|' FROM sales WHERE id = 2")
	contains(t, "sql verb", out, "SUCCESS")
	if got := getObject(t, w, "cli/stmt.part_00000"); got != "2|pear, ripe\n" {
		t.Errorf("cli/stmt.part_00000 = %q", got)
	}
	for _, bad := range []string{"DELETE FROM sales", "SELECT 1; DROP TABLE sales"} {
		if _, err := w.cli("export", "--db", db, "--query", bad, "s3://"+b+"/cli/bad"); err == nil {
			t.Errorf("export --query %q succeeded", bad)
		}
	}
	if n := scalar[int](t, lite, `SELECT count(*) FROM sales`); n != 3 {
		t.Errorf("sales has %d rows after the refusals", n)
	}
	// --async leaves the task to an agent.
	id := strings.TrimSpace(w.mustCLI("export", "--db", db, "--async", "--query", "SELECT id FROM sales", "--format", "jsonl", "s3://"+b+"/cli/async"))
	w.agent("--db", db, "--tick", "100ms")
	waitFor(t, "the agent to run the export", time.Minute, func() bool {
		return strings.Contains(w.mustCLI("status", "--db", db, id), "SUCCESS")
	})
	if got := getObject(t, w, "cli/async.part_00000"); got != "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n" {
		t.Errorf("cli/async.part_00000 = %q", got)
	}
	if strings.Contains(w.printed(), w.minio.SecretKey) {
		t.Error("the secret key was printed")
	}
}

// TestExportCancelCLI: cancel of a running PostgreSQL export served by an
// agent process; nothing is left in the bucket.
func TestExportCancelCLI(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.Postgres(t)
	w.mustCLI("attach", "--db", url, "--endpoint", w.minio.Endpoint)
	w.agent("--db", url, "--tick", "100ms")
	id := strings.TrimSpace(w.mustCLI("export", "--db", url, "--async", "--max-file-size", "4KB",
		"--query", "SELECT i, pg_sleep(0.001) FROM generate_series(1, 100000) AS i", "s3://"+w.bucket+"/cancel/x"))
	// Parts appear only when the export completes; the log says when one is sent.
	waitFor(t, "a finished part", time.Minute, func() bool { return strings.Contains(w.mustCLI("log", "--db", url, id), "sent s3://") })
	w.mustCLI("cancel", "--db", url, id)
	waitFor(t, "the export to stop", time.Minute, func() bool {
		return strings.Contains(w.mustCLI("status", "--db", url, id), "CANCELLED")
	})
	if keys := listKeys(t, w, "cancel/"); len(keys) > 0 {
		t.Errorf("a cancelled export left %v", keys)
	}
	if n := multipartUploads(t, w); n > 0 {
		t.Errorf("%d multipart uploads left", n)
	}
	if log := w.mustCLI("log", "--db", url, id); !strings.Contains(log, "export stopped after") {
		t.Errorf("the log does not say where the export stopped:\n%s", log)
	}
	if _, err := strconv.Atoi(id); err != nil {
		t.Errorf("--async printed %q, not a task id", id)
	}
}
