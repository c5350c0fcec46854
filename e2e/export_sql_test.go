package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// These tests need the export runner in open.go's runners(): an agent
// process runs the exports the SQL interface enqueues.

// TestExportPostgresSQL: aws_s3.query_export_to_s3's contract through an
// agent process: synchronous, its three counts, the create_s3_uri form,
// aws_s3's file names, and the query's error raised in the caller's
// session.
func TestExportPostgresSQL(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.Postgres(t)
	w.mustCLI("attach", "--db", url, "--endpoint", w.minio.Endpoint)
	w.agent("--db", url, "--tick", "100ms")
	db := openDB(t, "pgx", url)
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE t AS SELECT i AS id, 'name ' || i AS name FROM generate_series(1, 1000) AS i`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var rows, files, size int64
	if err := db.QueryRowContext(t.Context(), `select * from s3bridge.query_export_to_s3('select * from t order by id', $1, 'pg/t.csv', 'us-east-1', 'format csv, header true')`,
		w.bucket).Scan(&rows, &files, &size); err != nil {
		t.Fatal(err)
	}
	t.Logf("query_export_to_s3 of 1000 rows returned in %s", time.Since(start).Round(time.Millisecond))
	body := getObject(t, w, "pg/t.csv")
	if rows != 1000 || files != 1 || size != int64(len(body)) || !strings.HasPrefix(body, "id,name\n1,name 1\n") {
		t.Errorf("got %d rows, %d files, %d bytes; object starts %.30q", rows, files, size, body)
	}
	if err := db.QueryRowContext(t.Context(), `select files_uploaded from s3bridge.query_export_to_s3('select * from t', s3bridge.create_s3_uri($1, 'pg/split', 'us-east-1'), 'max_file_size 4096')`,
		w.bucket).Scan(&files); err != nil {
		t.Fatal(err)
	}
	keys := listKeys(t, w, "pg/split")
	if files < 2 || len(keys) != int(files) || keys[0] != "pg/split" || keys[1] != "pg/split_part2" {
		t.Errorf("%d files: %v", files, keys)
	}
	_, err := db.ExecContext(t.Context(), `select * from s3bridge.query_export_to_s3('select 1 / (id - 500) from t order by id', $1, 'pg/err')`, w.bucket)
	if err == nil || !strings.Contains(err.Error(), "division by zero") || !strings.Contains(err.Error(), "SQLSTATE 22012") {
		t.Errorf("a failing query: %v", err)
	}
	if keys := listKeys(t, w, "pg/err"); len(keys) > 0 {
		t.Errorf("the failed export left %v", keys)
	}
}

// TestExportMariaDBSQL: CALL select_into_outfile_s3 through an agent
// process, and the export's error raised by the CALL.
func TestExportMariaDBSQL(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.MariaDB(t)
	w.mustCLI("attach", "--db", url, "--endpoint", w.minio.Endpoint)
	w.agent("--db", url, "--tick", "100ms")
	dbName, schema := mariaNames(t, url)
	db := openDB(t, "mysql", "root@tcp("+testenv.MariaDBHost()+")/"+dbName)
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE t AS SELECT seq AS id, CONCAT('name ', seq) AS name FROM seq_1_to_1000`); err != nil {
		t.Fatal(err)
	}
	var rows, files, size int64
	stmt := "SELECT * FROM t ORDER BY id INTO OUTFILE S3 's3://" + w.bucket + "/my/t' FORMAT CSV HEADER MANIFEST ON PARTSIZE 8192"
	if err := db.QueryRowContext(t.Context(), "CALL `"+schema+"`.select_into_outfile_s3(?)", stmt).Scan(&rows, &files, &size); err != nil {
		t.Fatal(err)
	}
	keys := listKeys(t, w, "my/t.")
	if rows != 1000 || files < 2 || len(keys) != int(files)+1 || !strings.HasPrefix(getObject(t, w, "my/t.part_00001"), "id,name\n") {
		t.Errorf("got %d rows, %d files: %v", rows, files, keys)
	}
	if m := getObject(t, w, "my/t.manifest"); !strings.Contains(m, `{"url":"s3://`+w.bucket+`/my/t.part_00000"}`) {
		t.Errorf("manifest %s", m)
	}
	_, err := db.ExecContext(t.Context(), "CALL `"+schema+"`.select_into_outfile_s3(?)", "SELECT * FROM nowhere INTO OUTFILE S3 's3://"+w.bucket+"/my/err'")
	if err == nil || !strings.Contains(err.Error(), "doesn't exist") {
		t.Errorf("a failing query: %v", err)
	}
}
