package export_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/export"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

func dbNamed(name string) db {
	for _, d := range dbs {
		if d.name == name {
			return d
		}
	}
	panic(name)
}

// serve runs an agent on the instance until the test ends, for the SQL
// interface, which waits for one.
func (h *harness) serve() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.agent.Serve(ctx, h.in); close(done) }()
	h.t.Cleanup(func() { cancel(); <-done })
	// Synchronous SQL calls need the agent recorded in the instance.
	waitFor(h.t, "the agent to record itself", 30*time.Second, func() bool {
		agents, err := h.in.Agents(h.t.Context())
		return err == nil && len(agents) > 0
	})
}

// pgAs connects to the test database as a role created for the test.
func pgAs(t *testing.T, h *harness, role string) *sql.DB {
	u, _ := url.Parse(testenv.PostgresAdminURL())
	u.User = url.UserPassword(role, "pw")
	u.Path = "/" + h.in.Name()
	db, err := sql.Open("pgx", u.String())
	must(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// pgRoles creates two login roles allowed to export: reader may read t
// and other.u, noread nothing.
func pgRoles(t *testing.T, h *harness) (reader, noread string) {
	reader, noread = testenv.Name("s3br_"), testenv.Name("s3bn_")
	h.exec(`CREATE ROLE "`+reader+`" LOGIN PASSWORD 'pw'`, `CREATE ROLE "`+noread+`" LOGIN PASSWORD 'pw'`,
		`GRANT s3bridge_export TO "`+reader+`", "`+noread+`"`, `GRANT SELECT ON t TO "`+reader+`"`,
		`CREATE SCHEMA other`, `CREATE TABLE other.u (x int)`, `INSERT INTO other.u VALUES (7)`,
		`GRANT USAGE ON SCHEMA other TO "`+reader+`"`, `GRANT SELECT ON other.u TO "`+reader+`"`)
	t.Cleanup(func() {
		root, err := sql.Open("pgx", testenv.PostgresAdminURL())
		if err != nil {
			return
		}
		defer root.Close()
		for _, r := range []string{reader, noread} {
			root.Exec(`DROP OWNED BY "` + r + `"`)
			root.Exec(`DROP ROLE IF EXISTS "` + r + `"`)
		}
	})
	return reader, noread
}

// TestPostgresQueryExportToS3: aws_s3's function, synchronous, as the
// calling role, its errors raised with their SQLSTATE.
func TestPostgresQueryExportToS3(t *testing.T) {
	t.Parallel()
	h := newHarness(t, dbNamed("postgres"))
	h.exec(dbNamed("postgres").table(10)...)
	h.serve()
	reader, noread := pgRoles(t, h)
	as := pgAs(t, h, reader)
	ctx := t.Context()
	var rows, files, size int64
	err := as.QueryRowContext(ctx, `SELECT * FROM s3bridge.query_export_to_s3('SELECT * FROM t ORDER BY id', $1, 'fn/t.csv', 'us-east-1', 'format csv, header true')`,
		h.bucket).Scan(&rows, &files, &size)
	must(t, err)
	if body := string(h.get("fn/t.csv")); rows != 10 || files != 1 || size != int64(len(body)) || !strings.HasPrefix(body, "id,name,amount\n1,name-1,1.50\n") {
		t.Errorf("got rows %d, files %d, bytes %d for\n%s", rows, files, size, body)
	}
	err = as.QueryRowContext(ctx, `SELECT * FROM s3bridge.query_export_to_s3('SELECT id FROM t', s3bridge.create_s3_uri($1, 'fn/uri.txt', 'us-east-1'))`, h.bucket).Scan(&rows, &files, &size)
	if must(t, err); rows != 10 || string(h.get("fn/uri.txt"))[:2] != "1\n" {
		t.Errorf("create_s3_uri form: %d rows, %q", rows, h.get("fn/uri.txt"))
	}
	err = as.QueryRowContext(ctx, `SELECT files_uploaded FROM s3bridge.query_export_to_s3('SELECT * FROM t', $1, 'fn/split', NULL, 'format csv, delimiter $$;$$, max_file_size 100')`, h.bucket).Scan(&files)
	if must(t, err); files < 2 || !strings.Contains(string(h.get("fn/split_part2")), ";") {
		t.Errorf("split into %d files: %v", files, h.keys("fn/split"))
	}
	// The caller's search_path reaches the agent's transaction.
	conn, err := as.Conn(ctx)
	must(t, err)
	_, err = conn.ExecContext(ctx, `SET search_path = other, public`)
	must(t, err)
	err = conn.QueryRowContext(ctx, `SELECT rows_uploaded FROM s3bridge.query_export_to_s3('SELECT x FROM u', $1, 'fn/u', NULL, 'format parquet')`, h.bucket).Scan(&rows)
	if must(t, err); rows != 1 {
		t.Errorf("search_path export: %d rows", rows)
	}
	conn.Close()
	for q, code := range map[string]string{
		`SELECT 10 / (id - 5) FROM t ORDER BY id`: "22012", // division by zero, after 4 rows
		`DELETE FROM t`:         "38000",
		`SELECT * FROM nowhere`: "42P01",
	} {
		_, err := as.ExecContext(ctx, `SELECT * FROM s3bridge.query_export_to_s3($1, $2, 'fn/err', NULL, 'format csv')`, q, h.bucket)
		if sqlState(err) != code {
			t.Errorf("%s: got %v, want SQLSTATE %s", q, err, code)
		}
	}
	if keys := h.keys("fn/err"); len(keys) > 0 {
		t.Errorf("failed exports left %v", keys)
	}
	// A role without SELECT on t gets PostgreSQL's own permission error.
	_, err = pgAs(t, h, noread).ExecContext(ctx, `SELECT * FROM s3bridge.query_export_to_s3('SELECT * FROM t', $1, 'fn/denied', NULL, 'format csv')`, h.bucket)
	if sqlState(err) != "42501" || !strings.Contains(err.Error(), "permission denied for table t") {
		t.Errorf("role without SELECT: got %v, want SQLSTATE 42501", err)
	}
	// …and can't claim to be someone else.
	_, err = pgAs(t, h, noread).ExecContext(ctx, `SELECT * FROM s3bridge._export_run('postgres', '{"query": "SELECT 1"}', 'arn:aws:s3:::b/x')`)
	if sqlState(err) != "42501" {
		t.Errorf("claiming another role: got %v, want SQLSTATE 42501", err)
	}
	pgTimeout(t, h, as)
}

// pgTimeout: statement_timeout cancels the export as well as the call.
func pgTimeout(t *testing.T, h *harness, as *sql.DB) {
	ctx := t.Context()
	conn, err := as.Conn(ctx)
	must(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, `SET statement_timeout = '1s'`)
	must(t, err)
	_, err = conn.ExecContext(ctx, `SELECT * FROM s3bridge.query_export_to_s3('SELECT i, pg_sleep(0.001) FROM generate_series(1, 100000) i', $1, 'fn/slow', NULL, 'format csv, max_file_size 4096')`, h.bucket)
	if sqlState(err) != "57014" {
		t.Errorf("statement_timeout: got %v, want SQLSTATE 57014", err)
	}
	waitFor(t, "the export to be cancelled", 20*time.Second, func() bool {
		tasks, err := h.in.Tasks(ctx)
		must(t, err)
		last := tasks[len(tasks)-1]
		return last.Lifecycle == s3bridge.Cancelled
	})
	if keys := h.keys("fn/slow"); len(keys) > 0 {
		t.Errorf("a cancelled export left %v", keys)
	}
	h.noUploads()
}

// TestPostgresCaller: the runner itself honours the recorded caller.
func TestPostgresCaller(t *testing.T) {
	t.Parallel()
	h := newHarness(t, dbNamed("postgres"))
	h.exec(dbNamed("postgres").table(3)...)
	role := testenv.Name("s3bc_")
	h.exec(`CREATE ROLE "` + role + `"`)
	t.Cleanup(func() {
		root, _ := sql.Open("pgx", testenv.PostgresAdminURL())
		defer root.Close()
		root.Exec(`DROP ROLE IF EXISTS "` + role + `"`)
	})
	h.fails(export.Params{Query: "SELECT * FROM t", URI: h.uri("caller/x"), Caller: role}, "permission denied for table t")
	h.exec(`GRANT SELECT ON t TO "` + role + `"`)
	h.ok(export.Params{Query: "SELECT * FROM t", URI: h.uri("caller/y"), Caller: role})
	h.exec(`REVOKE SELECT ON t FROM "` + role + `"`)
}

// mariaAs connects to the test database as a user created for the test.
func mariaAs(t *testing.T, h *harness, user string) *sql.DB {
	u, _ := url.Parse(testenv.MariaDBAdminURL())
	db, err := sql.Open("mysql", fmt.Sprintf("%s:pw@tcp(%s)/", user, u.Host))
	must(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func mariaErr(err error) (uint16, string) {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number, string(me.SQLState[:])
	}
	return 0, ""
}

// TestMariaDBSelectIntoOutfileS3: CALL select_into_outfile_s3 waits for the
// export and returns its counts or raises its error; the query runs with
// the caller's privileges (its own or its role's); a killed call stops the
// export.
func TestMariaDBSelectIntoOutfileS3(t *testing.T) {
	t.Parallel()
	h := newHarness(t, dbNamed("mariadb"))
	h.exec(dbNamed("mariadb").table(10)...)
	h.serve()
	schema := "`" + h.in.(interface{ Schema() string }).Schema() + "`"
	reader, noread, viaRole, role := testenv.Name("s3br_"), testenv.Name("s3bn_"), testenv.Name("s3bv_"), testenv.Name("s3bq_")
	var setup []string
	for _, u := range []string{reader, noread, viaRole} {
		for _, host := range []string{"%", "localhost"} {
			setup = append(setup, "CREATE USER '"+u+"'@'"+host+"' IDENTIFIED BY 'pw'")
		}
	}
	setup = append(setup, "CREATE ROLE "+role, "GRANT SELECT ON `"+h.in.Name()+"`.t TO "+role, "GRANT s3bridge_export TO "+role)
	for _, host := range []string{"%", "localhost"} {
		setup = append(setup,
			"GRANT s3bridge_export TO '"+reader+"'@'"+host+"'", "SET DEFAULT ROLE s3bridge_export FOR '"+reader+"'@'"+host+"'",
			"GRANT SELECT ON `"+h.in.Name()+"`.* TO '"+reader+"'@'"+host+"'",
			"GRANT s3bridge_export TO '"+noread+"'@'"+host+"'", "SET DEFAULT ROLE s3bridge_export FOR '"+noread+"'@'"+host+"'",
			"GRANT "+role+" TO '"+viaRole+"'@'"+host+"'", "SET DEFAULT ROLE "+role+" FOR '"+viaRole+"'@'"+host+"'")
	}
	h.exec(setup...)
	t.Cleanup(func() {
		for _, u := range []string{reader, noread, viaRole} {
			for _, host := range []string{"%", "localhost"} {
				h.db.Exec("DROP USER IF EXISTS '" + u + "'@'" + host + "'")
			}
		}
		h.db.Exec("DROP ROLE IF EXISTS " + role)
	})
	ctx := t.Context()
	call := func(db *sql.DB, stmt string) (rows, files, size int64, err error) {
		err = db.QueryRowContext(ctx, "CALL "+schema+".select_into_outfile_s3(?)", stmt).Scan(&rows, &files, &size)
		return
	}
	rows, files, size, err := call(mariaAs(t, h, reader), "SELECT * FROM t ORDER BY id INTO OUTFILE S3 '"+h.uri("proc/t")+"' FORMAT CSV HEADER MANIFEST ON")
	must(t, err)
	if body := h.get("proc/t.part_00000"); rows != 10 || files != 1 || size != int64(len(body)) || !strings.HasPrefix(string(body), "id,name,amount\n") {
		t.Errorf("got %d rows, %d files, %d bytes: %s", rows, files, size, body)
	}
	if keys := h.keys("proc/t."); len(keys) != 2 {
		t.Errorf("keys %v, want a part and a manifest", keys)
	}
	if _, _, _, err := call(mariaAs(t, h, viaRole), "SELECT id FROM t INTO OUTFILE S3 '"+h.uri("proc/role")+"'"); err != nil {
		t.Errorf("a user reading through its role: %v", err)
	}
	_, _, _, err = call(mariaAs(t, h, noread), "SELECT * FROM t INTO OUTFILE S3 '"+h.uri("proc/denied")+"'")
	if n, state := mariaErr(err); n != 1644 || state != "42000" || !strings.Contains(err.Error(), "lack rights") {
		t.Errorf("a user without SELECT: got %v, want SQLSTATE 42000 naming the missing rights", err)
	}
	_, _, _, err = call(mariaAs(t, h, reader), "SELECT id, IF(id = 5, (SELECT x.id UNION SELECT x.id + 1), id) FROM t AS x ORDER BY id INTO OUTFILE S3 '"+h.uri("proc/err")+"'")
	if _, state := mariaErr(err); state != "HY000" || !strings.Contains(err.Error(), "stopped after") {
		t.Errorf("a failing query: got %v, want the export's error", err)
	}
	// The caller is the server's record of the session's account: a
	// request another session made (or none) can't be enqueued.
	_, err = mariaAs(t, h, reader).ExecContext(ctx, "CALL "+schema+"._export_enqueue(987654321, @s3b_id)")
	if _, state := mariaErr(err); state != "42000" || !strings.Contains(err.Error(), "is not one this session made") {
		t.Errorf("enqueueing a request this session did not make: got %v, want SQLSTATE 42000", err)
	}
	conn, err := mariaAs(t, h, reader).Conn(ctx)
	must(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "START TRANSACTION")
	must(t, err)
	_, err = conn.ExecContext(ctx, "CALL "+schema+".select_into_outfile_s3(?)", "SELECT 1 INTO OUTFILE S3 '"+h.uri("proc/tx")+"'")
	if _, state := mariaErr(err); state != "25000" {
		t.Errorf("called in a transaction: got %v, want SQLSTATE 25000", err)
	}
	_, err = conn.ExecContext(ctx, "ROLLBACK")
	must(t, err)
	mariaKilled(t, h, schema, conn)
}

// mariaKilled: KILL QUERY on a waiting CALL stops the export, through the
// heartbeat the call no longer sends.
func mariaKilled(t *testing.T, h *harness, schema string, conn *sql.Conn) {
	ctx := t.Context()
	var id int64
	must(t, conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id))
	errc := make(chan error)
	go func() {
		_, err := conn.ExecContext(ctx, "CALL "+schema+".select_into_outfile_s3(?)",
			"SELECT seq, SLEEP(0.001) FROM seq_1_to_100000 INTO OUTFILE S3 '"+h.uri("proc/killed")+"' PARTSIZE 4096")
		errc <- err
	}()
	waitFor(t, "a finished part", 20*time.Second, func() bool { return h.sent(h.lastTask()) })
	h.exec(fmt.Sprintf("KILL QUERY %d", id))
	if err := <-errc; err == nil {
		t.Fatal("the killed CALL returned no error")
	}
	waitFor(t, "the export to stop", 20*time.Second, func() bool {
		tasks, err := h.in.Tasks(ctx)
		must(t, err)
		last := tasks[len(tasks)-1]
		return last.Lifecycle == s3bridge.Cancelled && strings.Contains(last.TaskInfo, "has ended")
	})
	if keys := h.keys("proc/killed"); len(keys) > 0 {
		t.Errorf("the stopped export left %v", keys)
	}
	h.noUploads()
}
