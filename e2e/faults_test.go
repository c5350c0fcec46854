package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	neturl "net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// Issue 8's database faults: the database ends the connection a load or
// an export runs on, or goes away altogether while an agent waits for work.
//
// A load or an export whose connection the database ends fails: its task
// ends in ERROR with the database's own reason, and nothing of it is left
// (the load's transaction never commits; the export aborts its staged
// parts). It is not retried: the database ended it on purpose (an
// operator's pg_terminate_backend or KILL, a failover) and running it
// again is the caller's decision, as for any failed task. The agent is
// not harmed: it serves the next task.

// statusRow is a row of status --json.
type statusRow struct {
	TaskID    int64  `json:"task_id"`
	TaskType  string `json:"task_type"`
	Lifecycle string `json:"lifecycle"`
	TaskInfo  string `json:"task_info"`
	Rows      int64  `json:"rows_processed"`
	ErrorCode string `json:"error_code"`
}

// finalStatus waits for a task to reach a final lifecycle and returns it.
func finalStatus(t *testing.T, w *world, url, id string) statusRow {
	t.Helper()
	var r statusRow
	waitFor(t, "task "+id+" to finish", time.Minute, func() bool {
		var rows []statusRow
		if err := json.Unmarshal([]byte(w.mustCLI("status", "--db", url, "--json", id)), &rows); err != nil || len(rows) != 1 {
			t.Fatalf("status --json %s: %v (%d rows)", id, err, len(rows))
		}
		r = rows[0]
		return r.Lifecycle == "SUCCESS" || r.Lifecycle == "ERROR" || r.Lifecycle == "CANCELLED"
	})
	return r
}

// csvRows writes an object of n rows (id,name with a header) and returns
// its URI.
func csvRows(t *testing.T, w *world, key string, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,name\n")
	for i := range n {
		b.WriteString(strconv.Itoa(i) + ",row " + strconv.Itoa(i) + "\n")
	}
	w.put(key, []byte(b.String()))
	return "s3://" + w.bucket + "/" + key
}

// TestPostgresLoadBackendTerminated: pg_terminate_backend of the load's
// connection while its COPY runs (held on a table lock so that it surely
// does) fails the task with PostgreSQL's reason and loads nothing; the
// same agent then runs the next load.
func TestPostgresLoadBackendTerminated(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.Postgres(t)
	w.mustCLI("attach", "--db", url)
	db := openDB(t, "pgx", url)
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE t (id int, name text)`); err != nil {
		t.Fatal(err)
	}
	uri := csvRows(t, w, "rows.csv", 1000)
	w.agent("--db", url, "--tick", "100ms")
	lock, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.ExecContext(t.Context(), `LOCK TABLE t IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(w.mustCLI("load", "--db", url, "--async", "--table", "t", "--format", "csv", "--header", uri))
	var pid int
	waitFor(t, "the load's COPY to wait for the table", 30*time.Second, func() bool {
		return db.QueryRowContext(t.Context(), `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'COPY%' AND wait_event_type = 'Lock'`).Scan(&pid) == nil
	})
	if !scalar[bool](t, db, `SELECT pg_terminate_backend($1)`, pid) {
		t.Fatalf("pg_terminate_backend(%d) found no backend", pid)
	}
	lock.Rollback()
	st := finalStatus(t, w, url, id)
	if st.Lifecycle != "ERROR" || !strings.Contains(st.TaskInfo, "terminating connection due to administrator command") {
		t.Errorf("load whose backend was terminated: %s %q, want ERROR naming the termination", st.Lifecycle, st.TaskInfo)
	}
	if n := scalar[int](t, db, `SELECT count(*) FROM t`); n != 0 {
		t.Errorf("%d rows in the table after the failed load, want 0", n)
	}
	if n := scalar[int](t, db, `SELECT count(*) FROM s3bridge.load_history`); n != 0 {
		t.Errorf("load history of the failed load: %d rows, want 0", n)
	}
	next := strings.TrimSpace(w.mustCLI("load", "--db", url, "--async", "--table", "t", "--format", "csv", "--header", uri))
	if st := finalStatus(t, w, url, next); st.Lifecycle != "SUCCESS" || st.Rows != 1000 {
		t.Errorf("the next load on the same agent: %s, %d rows: %s", st.Lifecycle, st.Rows, st.TaskInfo)
	}
	if n := scalar[int](t, db, `SELECT count(*) FROM t`); n != 1000 {
		t.Errorf("%d rows after the next load, want 1000", n)
	}
}

// TestPostgresExportBackendTerminated: pg_terminate_backend of the
// export's connection while its COPY TO streams into a staged part fails
// the task with PostgreSQL's reason and leaves no object and no
// multipart upload; the same agent then runs the next export.
func TestPostgresExportBackendTerminated(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.Postgres(t)
	w.mustCLI("attach", "--db", url)
	db := openDB(t, "pgx", url)
	w.agent("--db", url, "--tick", "100ms")
	// One row a millisecond: rows reach the agent in 8 kB batches for
	// about two minutes, far longer than the test needs.
	slow := `SELECT g, pg_sleep(0.001)::text AS pause FROM generate_series(1, 100000) AS g`
	id := strings.TrimSpace(w.mustCLI("export", "--db", url, "--async", "--query", slow, "s3://"+w.bucket+"/exp/slow"))
	var pid int
	waitFor(t, "the export to stream into a staged part", 30*time.Second, func() bool {
		return db.QueryRowContext(t.Context(), `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'COPY (%' AND state = 'active'`).Scan(&pid) == nil &&
			multipartUploads(t, w) == 1
	})
	if !scalar[bool](t, db, `SELECT pg_terminate_backend($1)`, pid) {
		t.Fatalf("pg_terminate_backend(%d) found no backend", pid)
	}
	st := finalStatus(t, w, url, id)
	if st.Lifecycle != "ERROR" || !strings.Contains(st.TaskInfo, "terminating connection due to administrator command") {
		t.Errorf("export whose backend was terminated: %s %q, want ERROR naming the termination", st.Lifecycle, st.TaskInfo)
	}
	if keys := listKeys(t, w, "exp/"); len(keys) != 0 {
		t.Errorf("the failed export left %v", keys)
	}
	if n := multipartUploads(t, w); n != 0 {
		t.Errorf("the failed export left %d multipart uploads", n)
	}
	next := strings.TrimSpace(w.mustCLI("export", "--db", url, "--async", "--query", "SELECT g FROM generate_series(1, 10) AS g", "s3://"+w.bucket+"/exp/next"))
	if st := finalStatus(t, w, url, next); st.Lifecycle != "SUCCESS" || st.Rows != 10 {
		t.Errorf("the next export on the same agent: %s, %d rows: %s", st.Lifecycle, st.Rows, st.TaskInfo)
	}
}

// TestMariaDBLoadConnectionKilled: KILL of the load's connection while its
// LOAD DATA waits for the table (LOCK TABLES … WRITE elsewhere) fails the
// task with the server's reason and loads nothing; the same agent then
// runs the next load.
func TestMariaDBLoadConnectionKilled(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.MariaDB(t)
	dbName, _ := mariaNames(t, url)
	w.mustCLI("attach", "--db", url)
	db := openDB(t, "mysql", "root@tcp("+testenv.MariaDBHost()+")/"+dbName)
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE t (id int, name text) ENGINE=InnoDB`); err != nil {
		t.Fatal(err)
	}
	uri := csvRows(t, w, "rows.csv", 1000)
	w.agent("--db", url, "--tick", "100ms")
	lock, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(t.Context(), `LOCK TABLES t WRITE`); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(w.mustCLI("load", "--db", url, "--async", "--table", "t", "--format", "csv", "--header", uri))
	var conn int64
	waitFor(t, "the LOAD DATA to wait for the table", 30*time.Second, func() bool {
		return db.QueryRowContext(t.Context(), `SELECT id FROM information_schema.processlist
			WHERE db = ? AND info LIKE 'LOAD DATA%' AND state LIKE '%lock%'`, dbName).Scan(&conn) == nil
	})
	if _, err := db.ExecContext(t.Context(), fmt.Sprintf("KILL %d", conn)); err != nil {
		t.Fatal(err)
	}
	if _, err := lock.ExecContext(context.WithoutCancel(t.Context()), `UNLOCK TABLES`); err != nil {
		t.Fatal(err)
	}
	st := finalStatus(t, w, url, id)
	// The driver reports a connection the server closed as "invalid
	// connection", or MariaDB's "Connection was killed" when the error
	// packet arrives first.
	if st.Lifecycle != "ERROR" || !(strings.Contains(st.TaskInfo, "invalid connection") || strings.Contains(st.TaskInfo, "killed")) ||
		!strings.Contains(st.TaskInfo, "nothing was loaded") {
		t.Errorf("load whose connection was killed: %s %q, want ERROR saying the connection was lost and nothing loaded", st.Lifecycle, st.TaskInfo)
	}
	if n := scalar[int](t, db, `SELECT count(*) FROM t`); n != 0 {
		t.Errorf("%d rows in the table after the failed load, want 0", n)
	}
	next := strings.TrimSpace(w.mustCLI("load", "--db", url, "--async", "--table", "t", "--format", "csv", "--header", uri))
	if st := finalStatus(t, w, url, next); st.Lifecycle != "SUCCESS" || st.Rows != 1000 {
		t.Errorf("the next load on the same agent: %s, %d rows: %s", st.Lifecycle, st.Rows, st.TaskInfo)
	}
	if n := scalar[int](t, db, `SELECT count(*) FROM t`); n != 1000 {
		t.Errorf("%d rows after the next load, want 1000", n)
	}
}

// TestAgentSurvivesDatabaseRestart: the database goes away for a few
// seconds while an agent waits for work (every connection cut, new ones
// refused, as a restart does) and comes back. The agent logs the failures
// at a bounded rate (backoff, not a busy loop), stays up, and runs a task
// enqueued after the database is back, without a restart of its own.
func TestAgentSurvivesDatabaseRestart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		create func(testing.TB) string
	}{
		{"postgres", testenv.Postgres},
		{"mariadb", testenv.MariaDB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			url := tc.create(t)
			area := t.TempDir()
			w.mustCLI("attach", "--db", url, "--area", area)
			proxy := newCutProxy(t, hostOf(t, url))
			agent := w.agent("--db", proxy.via(t, url), "--tick", "100ms")
			upload := func(name string) statusRow {
				writeFile(t, filepath.Join(area, name), name)
				id := strings.TrimSpace(w.mustCLI("upload-file", "--db", url, "--async", name, "s3://"+w.bucket+"/"+name))
				return finalStatus(t, w, url, id)
			}
			if st := upload("before.csv"); st.Lifecycle != "SUCCESS" {
				t.Fatalf("upload before the restart: %s %s", st.Lifecycle, st.TaskInfo)
			}
			mark := len(w.printed())
			proxy.cut()
			const outage = 6 * time.Second
			time.Sleep(outage) // the restart's length: what the agent must sit out
			during := w.printed()[mark:]
			proxy.restore()
			back := time.Now()
			st := upload("after.csv")
			t.Logf("a task enqueued after the database came back ran in %s", time.Since(back).Round(time.Millisecond))
			if st.Lifecycle != "SUCCESS" {
				t.Errorf("upload after the restart: %s %s", st.Lifecycle, st.TaskInfo)
			}
			if !running(agent.Process.Pid) {
				t.Fatal("the agent exited while the database was away")
			}
			errs := strings.Count(during, "level=ERROR") + strings.Count(during, "level=WARN")
			t.Logf("%d error and warning lines in the %s the database was away", errs, outage)
			if errs == 0 {
				t.Error("the agent logged nothing while the database was away")
			}
			// Polling every 200 ms would log 30 claim failures, and as
			// many presence ones; backoff doubling to 5 s logs about 5.
			if errs > 20 {
				t.Errorf("%d error and warning lines in %s: the agent retries without backing off:\n%s", errs, outage, during)
			}
		})
	}
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := neturl.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
