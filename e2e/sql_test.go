package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

var taskStatusColumns = "task_id task_type database_name percent_complete duration_mins lifecycle task_info last_updated created_at s3_object_arn filepath overwrite_file task_metadata"

// TestPostgresSQL drives every transfer function from SQL with RDS's named
// parameters, an agent process doing the work, the endpoint taken from the
// instance's settings.
func TestPostgresSQL(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.dropEnv("AWS_ENDPOINT_URL") // the instance's --endpoint must suffice
	url := testenv.Postgres(t)
	area, exports := t.TempDir(), t.TempDir()
	w.mustCLI("attach", "--db", url, "--area", area, "--dir", "EXPORTS="+exports, "--endpoint", w.minio.Endpoint)
	w.agent("--db", url, "--tick", "100ms")
	db := openDB(t, "pgx", url)
	s := &sqlTasks{t: t, db: db, status: `select lifecycle, task_info, percent_complete from s3bridge.task_status(NULL, $1)`}
	s.call = func(q string, args ...any) int64 { return scalar[int64](t, db, q, args...) }
	b := w.bucket
	for _, f := range []string{"db1.dmp", "db2.dmp", "notes.txt"} {
		writeFile(t, filepath.Join(exports, f), "data of "+f)
	}

	id := s.ok(`select s3bridge.upload_to_s3(p_bucket_name => $1, p_prefix => 'db', p_s3_prefix => 'dbfiles/ora', p_directory_name => 'EXPORTS')`, b)
	if got := column(t, db, `select s3_object_arn from s3bridge.task_status(NULL, $1)`, id); len(got) != 1 || got[0] != "arn:aws:s3:::"+b+"/dbfiles/ora" {
		t.Errorf("s3_object_arn: %v", got)
	}
	latency := scalar[float64](t, db, `select extract(epoch from started_at - created_at) from s3bridge.tasks where task_id = $1`, id)
	t.Logf("pickup latency with LISTEN/NOTIFY: %.0f ms", latency*1000)
	if latency > 1 {
		t.Errorf("pickup took %.3fs, want well under a second", latency)
	}
	os.Remove(filepath.Join(exports, "db1.dmp"))
	s.ok(`select s3bridge.download_from_s3(p_bucket_name => $1, p_directory_name => 'EXPORTS', p_s3_prefix => 'dbfiles/')`, b)
	for _, f := range []string{"oradb1.dmp", "oradb2.dmp"} {
		if got, err := os.ReadFile(filepath.Join(exports, f)); err != nil || !strings.HasPrefix(string(got), "data of db") {
			t.Errorf("downloaded %s: %q, %v", f, got, err)
		}
	}
	s.fails(`"NOPE" is not registered`, `select s3bridge.download_from_s3(p_bucket_name => $1, p_directory_name => 'NOPE')`, b)

	s.ok(`select s3bridge.download_file_from_s3(s3_arn_of_file => $1, file_path => 'seed_data/data.csv', overwrite_file => 1)`, "arn:aws:s3:::"+b+"/dbfiles/oradb2.dmp")
	s.fails("already exists", `select s3bridge.download_file_from_s3($1, 'seed_data/data.csv', 0)`, "arn:aws:s3:::"+b+"/dbfiles/oradb2.dmp")
	s.ok(`select s3bridge.upload_file_to_s3(file_path => 'seed_data/data.csv', s3_arn_of_file => $1)`, "arn:aws:s3:::"+b+"/new_data.csv")
	gather := s.ok(`select s3bridge.gather_file_details()`)
	files := column(t, db, `select filepath || ' ' || size_in_bytes || ' ' || is_directory from s3bridge.list_file_details($1)`, gather)
	want := []string{area + "/seed_data/ 4096 true", area + "/seed_data/data.csv 15 false"}
	if strings.Join(files, "|") != strings.Join(want, "|") {
		t.Errorf("list_file_details: got %v, want %v", files, want)
	}
	s.fails("force_delete", `select s3bridge.delete_from_filesystem(file_path => 'seed_data/')`)
	s.ok(`select s3bridge.delete_from_filesystem(file_path => 'seed_data/', force_delete => 1)`)

	if got := strings.Join(columnNames(t, db, `select * from s3bridge.task_status(NULL, 0)`), " "); got != taskStatusColumns {
		t.Errorf("task_status columns: %s", got)
	}
	if n := len(column(t, db, `select task_id from s3bridge.task_status(NULL, 0)`)); n != 9 {
		t.Errorf("task_status(NULL, 0): %d tasks, want 9", n)
	}
	log := column(t, db, `select text from s3bridge.read_task_log($1)`, id)
	if len(log) < 3 || !strings.Contains(log[0], " UTC [INFO ] UPLOAD_TO_S3 task") {
		t.Errorf("read_task_log: %q", log)
	}
	if _, err := db.ExecContext(t.Context(), `select s3bridge.cancel_task($1)`, id); err == nil || !strings.Contains(err.Error(), "SUCCESS") {
		t.Errorf("cancel of a finished task: got %v", err)
	}
	w.mustCLI("detach", "--db", url)
	if _, err := db.ExecContext(t.Context(), `select s3bridge.gather_file_details()`); err == nil {
		t.Error("functions still callable after detach")
	}
	if n := scalar[int](t, db, `select count(*) from s3bridge.tasks`); n != 9 {
		t.Errorf("after detach: %d tasks kept, want 9", n)
	}
}

// TestMariaDBSQL drives the same interface positionally on MariaDB, as
// procedures: those that enqueue return the task id as a one-row result.
func TestMariaDBSQL(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.MariaDB(t)
	area, exports := t.TempDir(), t.TempDir()
	w.mustCLI("attach", "--db", url, "--area", area, "--dir", "EXPORTS="+exports)
	w.agent("--db", url, "--tick", "100ms")
	_, schema := mariaNames(t, url)
	db := openDB(t, "mysql", "root@tcp("+testenv.MariaDBHost()+")/"+schema+"?parseTime=true")
	db.SetMaxOpenConns(1)
	s := &sqlTasks{t: t, db: db, status: `select lifecycle, task_info, percent_complete from tasks where task_id = ?`}
	s.call = func(q string, args ...any) int64 { return scalar[int64](t, db, q, args...) }
	b := w.bucket
	for _, f := range []string{"db1.dmp", "db2.dmp"} {
		writeFile(t, filepath.Join(exports, f), "data of "+f)
	}
	s.ok(`call upload_to_s3(?, '', '', 'EXPORTS')`, b)
	s.ok(`call upload_to_s3_compressed(?, 'db1', 'gz/', 'EXPORTS', 9)`, b)
	os.Remove(filepath.Join(exports, "db1.dmp"))
	s.ok(`call download_from_s3(?, 'EXPORTS', '')`, b)
	if got, err := os.ReadFile(filepath.Join(exports, "db1.dmp")); err != nil || string(got) != "data of db1.dmp" {
		t.Errorf("download_from_s3: %q, %v", got, err)
	}
	s.ok(`call download_from_s3_ext(?, 'EXPORTS', 'gz/', 'GZIP', 'TRUE')`, b)
	s.fails("no objects", `call download_from_s3_ext(?, 'EXPORTS', 'none/', 'NONE', 'TRUE')`, b)
	s.ok(`call download_file_from_s3(?, 'in/db2.csv', 0)`, "arn:aws:s3:::"+b+"/db2.dmp")
	s.ok(`call upload_file_to_s3('in/db2.csv', ?, 0)`, "arn:aws:s3:::"+b+"/copy/db2.csv")
	s.fails("already exists", `call upload_file_to_s3('in/db2.csv', ?, 0)`, "arn:aws:s3:::"+b+"/copy/db2.csv")
	gather := s.ok(`call gather_file_details()`)
	files := column(t, db, `call list_file_details(?)`, gather)
	if strings.Join(files, "|") != area+"/in/|"+area+"/in/db2.csv" {
		t.Errorf("list_file_details: %v", files)
	}
	del := s.ok(`call delete_from_filesystem('in/', 1)`)
	if got := strings.Join(columnNames(t, db, `call task_status(NULL, 0)`), " "); got != taskStatusColumns {
		t.Errorf("task_status columns: %s", got)
	}
	if log := column(t, db, `call read_task_log(?)`, del); len(log) < 2 || !strings.Contains(log[0], " UTC [INFO ] DELETE_FILES_ON_DISK task") {
		t.Errorf("read_task_log: %q", log)
	}
	var lc string
	if err := db.QueryRowContext(t.Context(), `call cancel_task(?)`, del).Scan(&lc); err == nil || !strings.Contains(err.Error(), "SUCCESS") {
		t.Errorf("cancel of a finished task: got %v", err)
	}
}
