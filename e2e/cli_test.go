package e2e

import (
	"database/sql"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestCLISQLite runs the transfer verbs in-process on SQLite, the one
// database without server-side functions.
func TestCLISQLite(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	dir := t.TempDir()
	url := "sqlite://" + filepath.Join(dir, "app.db")
	area, pump := filepath.Join(dir, "area"), filepath.Join(dir, "pump")
	w.mustCLI("attach", "--db", url, "--area", area, "--create-area", "--dir", "DATA_PUMP_DIR="+pump)
	// Re-attach changes only what is given and is otherwise idempotent.
	w.mustCLI("attach", "--db", url, "--max-files", "50", "--allow-ext", "csv,dmp")
	writeFile(t, filepath.Join(pump, "db1.dmp"), "dump one")
	writeFile(t, filepath.Join(area, "in", "a.csv"), "a,b\n")
	b := w.bucket
	contains(t, "upload", w.mustCLI("upload", "--db", url, "--bucket", b, "--s3-prefix", "dbfiles/ora"), "SUCCESS", "uploaded 1 files")
	contains(t, "upload-file", w.mustCLI("upload-file", "--db", url, "in/a.csv", "s3://"+b+"/in/a.csv"), "SUCCESS")
	contains(t, "download-file", w.mustCLI("download-file", "--db", url, "arn:aws:s3:::"+b+"/dbfiles/oradb1.dmp", "copies/"), "SUCCESS")
	if got, err := os.ReadFile(filepath.Join(area, "copies", "oradb1.dmp")); err != nil || string(got) != "dump one" {
		t.Errorf("downloaded: %q, %v", got, err)
	}
	_, err := w.cli("download-file", "--db", url, "arn:aws:s3:::"+b+"/dbfiles/oradb1.dmp", "copies/")
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("download over an existing file without --overwrite: %v", err)
	}
	contains(t, "list-files", w.mustCLI("list-files", "--db", url), area+"/copies/oradb1.dmp", area+"/in/a.csv")
	contains(t, "delete-file", w.mustCLI("delete-file", "--db", url, "--force", "copies/"), "SUCCESS")
	id := strings.TrimSpace(w.mustCLI("download", "--db", url, "--async", "--bucket", b, "--s3-prefix", "dbfiles/"))
	contains(t, "status of a queued task", w.mustCLI("status", "--db", url, id), "CREATED")
	contains(t, "cancel", w.mustCLI("cancel", "--db", url, id), "CANCELLED")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(w.mustCLI("status", "--db", url, "--json")), &rows); err != nil || len(rows) != 7 {
		t.Fatalf("status --json: %d rows, %v", len(rows), err)
	}
	for _, col := range strings.Fields(taskStatusColumns) {
		if _, ok := rows[0][col]; !ok {
			t.Errorf("status --json lacks column %s", col)
		}
	}
	log := w.mustCLI("log", "--db", url, "1")
	if !strings.Contains(log, " UTC [INFO ] UPLOAD_TO_S3 task 1 started") {
		t.Errorf("log: %q", log)
	}
	if _, err := w.cli("upload-file", "--db", url, "../etc/passwd", "s3://"+b+"/x"); err == nil || !strings.Contains(err.Error(), `"../etc/passwd" is outside`) {
		t.Errorf("path outside the area: %v", err)
	}
}

// TestFailuresSayWhatAndWhere: wrong credentials, an unreachable endpoint
// and an unknown bucket each end the task in ERROR with a task_info that
// names the object, and no secret appears anywhere: not in any output at
// debug level, not in task rows, not in task logs.
func TestFailuresSayWhatAndWhere(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const dbPassword = "db-pass-Zq83kLm2"
	mariaURL := mariaDBWithPassword(t, dbPassword)
	area := t.TempDir()
	writeFile(t, filepath.Join(area, "a.csv"), "x\n")
	w.mustCLI("attach", "--db", mariaURL, "--area", area)
	target := "s3://" + w.bucket + "/a.csv"

	good := w.env
	const wrongSecret = "wrong-secret-Hq7Vx0Pa"
	w.env = append(w.env, "AWS_SECRET_ACCESS_KEY="+wrongSecret, "AWS_SESSION_TOKEN=")
	_, err := w.cli("upload-file", "--db", mariaURL, "--log-level", "debug", "a.csv", target)
	if err == nil || !strings.Contains(err.Error(), "ERROR") || !strings.Contains(err.Error(), "a.csv") {
		t.Errorf("wrong credentials: %v", err)
	}
	w.env = append(good, "AWS_ENDPOINT_URL=http://127.0.0.1:1", "AWS_MAX_ATTEMPTS=2")
	if _, err := w.cli("upload-file", "--db", mariaURL, "--log-level", "debug", "a.csv", target); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("unreachable endpoint: %v", err)
	}
	w.env = good
	if _, err := w.cli("upload-file", "--db", mariaURL, "a.csv", "s3://no-such-bucket-s3b/a.csv"); err == nil || !strings.Contains(err.Error(), "no-such-bucket-s3b") {
		t.Errorf("unknown bucket: %v", err)
	}
	bad := strings.Replace(mariaURL, dbPassword, "not-the-"+dbPassword, 1)
	if _, err := w.cli("status", "--db", bad); err == nil {
		t.Error("status with a wrong DB password succeeded")
	}
	w.mustCLI("status", "--db", mariaURL, "--json")
	for i := 1; i <= 3; i++ {
		w.mustCLI("log", "--db", mariaURL, string(rune('0'+i)))
	}
	secrets := map[string]string{"S3 secret key": w.minio.SecretKey, "wrong S3 secret key": wrongSecret, "DB password": dbPassword}
	printed := w.printed()
	for name, s := range secrets {
		if strings.Contains(printed, s) {
			t.Errorf("the %s appears in what s3bridge printed", name)
		}
	}
}

// mariaDBWithPassword returns an instance URL for a user with a password.
func mariaDBWithPassword(t *testing.T, password string) string {
	t.Helper()
	raw := testenv.MariaDB(t)
	u, _ := url.Parse(raw)
	db := openDB(t, "mysql", "root@tcp("+u.Host+")/")
	user := testenv.Name("s3bu_")
	for _, q := range []string{
		"CREATE USER '" + user + "'@'%' IDENTIFIED BY '" + password + "'",
		"CREATE USER '" + user + "'@'localhost' IDENTIFIED BY '" + password + "'",
		"GRANT ALL ON *.* TO '" + user + "'@'%' WITH GRANT OPTION",
		"GRANT ALL ON *.* TO '" + user + "'@'localhost' WITH GRANT OPTION",
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		admin, err := sql.Open("mysql", "root@tcp("+u.Host+")/")
		if err == nil {
			admin.Exec("DROP USER IF EXISTS '" + user + "'@'%'")
			admin.Exec("DROP USER IF EXISTS '" + user + "'@'localhost'")
			admin.Close()
		}
	})
	u.User = url.UserPassword(user, password)
	return u.String()
}
