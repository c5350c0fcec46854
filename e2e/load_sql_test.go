package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// credentialsFile writes an AWS credentials file the database server's user
// can read (test only: the keys are MinIO's test keys).
func credentialsFile(t *testing.T, w *world) string {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755) // the test's temp root, 0700 by default
	p := filepath.Join(dir, "credentials")
	writeFile(t, p, "[default]\naws_access_key_id = "+w.minio.AccessKey+"\naws_secret_access_key = "+w.minio.SecretKey+"\n")
	os.Chmod(p, 0o644)
	return p
}

// TestPostgresTableImport: aws_s3.table_import_from_s3's contract — part of
// the caller's transaction, COPY options, the create_s3_uri form, its return
// text — and a refused options string.
func TestPostgresTableImport(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.Postgres(t)
	w.mustCLI("attach", "--db", url, "--endpoint", w.minio.Endpoint, "--binary", binary, "--credentials-file", credentialsFile(t, w))
	db := openDB(t, "pgx", url)
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE t (id int, name text, amount numeric)`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.csv"), "id,name,amount\n1,alpha,10.5\n2,\"be,ta\",20.25\n")
	putObject(t, w, "in/a.csv", filepath.Join(dir, "a.csv"))
	got := scalar[string](t, db, `select s3bridge.table_import_from_s3('t', '', '(format csv, header true)', $1, 'in/a.csv', 'us-east-1')`, w.bucket)
	if got != `2 rows imported into relation "t" from file in/a.csv of 44 bytes` {
		t.Errorf("table_import_from_s3 returned %q", got)
	}
	// The task row it writes holds the same figures as numbers.
	if got := scalar[string](t, db, `select concat_ws(',', rows_processed, files_processed, bytes_processed)
		from s3bridge.tasks order by task_id desc limit 1`); got != "2,1,44" {
		t.Errorf("table_import_from_s3's task: rows, files, bytes %s; want 2,1,44", got)
	}
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var res string
	if err := tx.QueryRowContext(t.Context(), `select s3bridge.table_import_from_s3('t', 'id,name,amount', '(format csv, header true)',
		s3bridge.create_s3_uri($1, 'in/a.csv', 'us-east-1'))`, w.bucket).Scan(&res); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	if n := scalar[int](t, db, `select count(*) from t`); n != 2 {
		t.Errorf("after a rolled-back import: %d rows, want 2 (ROLLBACK undoes it)", n)
	}
	for _, bad := range []string{"(format csv) WHERE (select 1) = 1", "(format csv); drop table t", "(format csv) -- x"} {
		if _, err := db.ExecContext(t.Context(), `select s3bridge.table_import_from_s3('t', '', $1, $2, 'in/a.csv')`, bad, w.bucket); err == nil {
			t.Errorf("options %q accepted", bad)
		}
	}
	// A literal the old check ended early (E'\' ') smuggled a WHERE that
	// ran the caller's own function with the owner's rights.
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{`CREATE TEMP TABLE ran (who text)`,
		`CREATE FUNCTION pg_temp.f() RETURNS bool LANGUAGE sql AS $$ INSERT INTO ran VALUES (current_user) RETURNING true $$`} {
		if _, err := conn.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	smuggled := "(format csv, header true, null E'\\' ') WHERE pg_temp.f() -- '\n"
	if _, err := conn.ExecContext(t.Context(), `select s3bridge.table_import_from_s3('t', '', $1, $2, 'in/a.csv')`, smuggled, w.bucket); err == nil ||
		!strings.Contains(err.Error(), "WHERE is not an allowed COPY option") {
		t.Errorf("options %q: %v, want refused", smuggled, err)
	}
	var ran int
	if err := conn.QueryRowContext(t.Context(), `select count(*) from ran`).Scan(&ran); err != nil || ran != 0 {
		t.Errorf("the smuggled WHERE ran %d times (%v)", ran, err)
	}
	if _, err := db.ExecContext(t.Context(), `select s3bridge.table_import_from_s3('t', '', '(format csv)', $1, 'in/missing.csv')`, w.bucket); err == nil {
		t.Error("import of a missing object succeeded")
	}
	if n := scalar[int](t, db, `select count(*) from s3bridge.load_history`); n != 1 {
		t.Errorf("load history: %d rows, want 1", n)
	}
}

// TestMariaDBLoadDataFromS3: CALL s3bridge.load_data_from_s3 with Aurora's
// statement returns when the load is done and raises its error as SQL's;
// the same statement through the CLI's sql verb, on PostgreSQL too.
func TestMariaDBLoadDataFromS3(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.MariaDB(t)
	w.mustCLI("attach", "--db", url)
	w.agent("--db", url, "--tick", "100ms")
	dbName, schema := mariaNames(t, url)
	db := openDB(t, "mysql", "root@tcp("+testenv.MariaDBHost()+")/"+dbName)
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE employees (ID INT PRIMARY KEY, FIRSTNAME TEXT, LASTNAME TEXT, EMAIL TEXT, SCORE INT)`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "e1.csv"), "1,Ada,Lovelace,ada@example.com\n2,Alan,Turing,alan@example.com\n")
	writeFile(t, filepath.Join(dir, "e2.csv"), "3,Grace,Hopper,grace@example.com\n")
	putObject(t, w, "employee_data1.csv", filepath.Join(dir, "e1.csv"))
	putObject(t, w, "employee_data2.csv", filepath.Join(dir, "e2.csv"))
	stmt := "LOAD DATA FROM S3 PREFIX 's3://" + w.bucket + "/employee_data' INTO TABLE employees FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n' (ID, FIRSTNAME, LASTNAME, EMAIL) SET SCORE = ID * 100"
	rows, err := db.QueryContext(t.Context(), "CALL `"+schema+"`.load_data_from_s3(?)", stmt)
	if err != nil {
		t.Fatalf("CALL load_data_from_s3: %v", err)
	}
	rows.Close()
	if got := scalar[int](t, db, `SELECT sum(SCORE) FROM employees`); got != 600 {
		t.Errorf("after the load: sum(SCORE) = %d, want 600 (SET ran natively)", got)
	}
	_, err = db.ExecContext(t.Context(), "CALL `"+schema+"`.load_data_from_s3(?)", strings.Replace(stmt, "employee_data", "nothing_here", 1))
	if err == nil || !strings.Contains(err.Error(), "no file to load") {
		t.Errorf("a failing load through CALL: %v", err)
	}
	// The same grammar from the CLI; on PostgreSQL a SET clause is refused by name.
	contains(t, "sql verb", w.mustCLI("sql", "--db", url, "LOAD DATA FROM S3 FILE 's3://"+w.bucket+"/employee_data2.csv' REPLACE INTO TABLE employees FIELDS TERMINATED BY ',' (ID, FIRSTNAME, LASTNAME, EMAIL)"), "SUCCESS")
	pg := testenv.Postgres(t)
	w.mustCLI("attach", "--db", pg)
	if _, err := w.cli("sql", "--db", pg, stmt); err == nil || !strings.Contains(err.Error(), "SET SCORE") {
		t.Errorf("SET on PostgreSQL: %v", err)
	}
}

func putObject(t *testing.T, w *world, key, file string) {
	t.Helper()
	lite := "sqlite://" + filepath.Join(t.TempDir(), "put.db")
	area := filepath.Dir(file)
	w.mustCLI("attach", "--db", lite, "--area", area, "--allow-ext", "*")
	w.mustCLI("upload-file", "--db", lite, "--overwrite", filepath.Base(file), "s3://"+w.bucket+"/"+key)
}
