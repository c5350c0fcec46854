package e2e

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestPostgresSyncCallsAreBounded (issue 8): query_export_to_s3 fails at
// once, naming the fix, when no agent serves the instance; it gives up
// after the instance's pickup timeout when no agent starts its task, and
// the task is cancelled, never run later; and a task whose caller went
// away before an agent started it is cancelled, not run, when an agent
// comes.
func TestPostgresSyncCallsAreBounded(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.Postgres(t)
	w.mustCLI("attach", "--db", url, "--endpoint", w.minio.Endpoint)
	db := openDB(t, "pgx", url)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t AS SELECT 1 AS id`); err != nil {
		t.Fatal(err)
	}
	export := `select * from s3bridge.query_export_to_s3('select * from t', $1, 'w/t.csv')`

	start := time.Now()
	_, err := db.ExecContext(ctx, export, w.bucket)
	if err == nil || !strings.Contains(err.Error(), "no s3bridge agent is serving this instance (last seen never)") ||
		!strings.Contains(err.Error(), "s3bridge agent --db") || !strings.Contains(err.Error(), "55000") {
		t.Errorf("with no agent: got %v, want the no-agent error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the no-agent error took %s", d)
	}
	if n := scalar[int](t, db, `select count(*) from s3bridge.tasks`); n != 0 {
		t.Errorf("%d tasks enqueued with no agent, want none", n)
	}

	// An agent that is recorded but takes nothing: the pickup timeout.
	if _, err := db.ExecContext(ctx, `insert into s3bridge.agents values ('silent', 'h', 'v', now(), now() + interval '1 hour')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `update s3bridge.settings set value = jsonb_set(value::jsonb, '{pickup_timeout_seconds}', '1')::text where name = 'settings'`); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	_, err = db.ExecContext(ctx, export, w.bucket)
	if err == nil || !strings.Contains(err.Error(), "no s3bridge agent started it within") {
		t.Errorf("with no agent taking the task: got %v, want the pickup timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the pickup timeout of 1 s took %s", d)
	}
	contains(t, "timed-out task", scalar[string](t, db, `select lifecycle || ' ' || task_info from s3bridge.tasks order by task_id desc limit 1`),
		"CANCELLED", "no s3bridge agent started it")

	// A caller that goes away: its task must not run when an agent comes.
	if _, err := db.ExecContext(ctx, `update s3bridge.settings set value = jsonb_set(value::jsonb, '{pickup_timeout_seconds}', '300')::text where name = 'settings'`); err != nil {
		t.Fatal(err)
	}
	callerCtx, kill := context.WithCancel(ctx)
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := conn.QueryRowContext(ctx, `select pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	go conn.ExecContext(callerCtx, export, w.bucket)
	waitFor(t, "the caller's task to be queued", 30*time.Second, func() bool {
		return scalar[int](t, db, `select count(*) from s3bridge.tasks where lifecycle = 'CREATED' and caller_session like $1`, strconv.Itoa(pid)+"@%") == 1
	})
	if _, err := db.ExecContext(ctx, `select pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	kill()
	conn.Close()
	if _, err := db.ExecContext(ctx, `delete from s3bridge.agents`); err != nil {
		t.Fatal(err)
	}
	w.agent("--db", url, "--tick", "100ms")
	waitFor(t, "the orphaned task to be cancelled", 30*time.Second, func() bool {
		return scalar[string](t, db, `select lifecycle from s3bridge.tasks order by task_id desc limit 1`) == "CANCELLED"
	})
	contains(t, "orphaned task", scalar[string](t, db, `select task_info from s3bridge.tasks order by task_id desc limit 1`), "has ended")
	if objs := listKeys(t, w, "w/"); len(objs) != 0 {
		t.Errorf("the orphaned export ran: %v", objs)
	}
}

// TestCLIWhileAnAgentServes (issue 8, item 3): a CLI command whose task an
// agent picks up first reports that task's real outcome (exit 0 for
// SUCCESS), whichever of the two runs it.
func TestCLIWhileAnAgentServes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.Postgres(t)
	w.mustCLI("attach", "--db", url, "--endpoint", w.minio.Endpoint)
	w.agent("--db", url, "--tick", "100ms")
	for i := range 6 {
		out := w.mustCLI("export", "--db", url, "--query", "select "+strconv.Itoa(i)+" as n", "s3://"+w.bucket+"/cli/"+strconv.Itoa(i))
		contains(t, "export while an agent serves", out, "SUCCESS")
	}
	if keys := listKeys(t, w, "cli/"); len(keys) != 6 {
		t.Errorf("exports written: %v, want 6", keys)
	}
}

// TestMariaDBCallerGoneCancelsRunningLoad (issue 8): a load that a CALL
// waits for is cancelled while it runs when the caller's connection ends
// (killed, disconnected): nothing lands, and the task says why. The test
// holds a lock on the table so that the load is surely running (blocked
// in LOAD DATA) when the caller goes.
func TestMariaDBCallerGoneCancelsRunningLoad(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.MariaDB(t)
	w.mustCLI("attach", "--db", url)
	w.agent("--db", url, "--tick", "100ms")
	dbName, schema := mariaNames(t, url)
	admin := openDB(t, "mysql", "root@tcp("+testenv.MariaDBHost()+")/"+dbName)
	ctx := t.Context()
	if _, err := admin.ExecContext(ctx, `CREATE TABLE t (id INT, name TEXT)`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, dir+"/rows.csv", "1,a\n2,b\n")
	putObject(t, w, "rows.csv", dir+"/rows.csv")

	lock, err := admin.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, `LOCK TABLES t WRITE`); err != nil {
		t.Fatal(err)
	}
	caller, err := admin.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var callerID int64
	if err := caller.QueryRowContext(ctx, `SELECT CONNECTION_ID()`).Scan(&callerID); err != nil {
		t.Fatal(err)
	}
	go caller.ExecContext(ctx, "CALL `"+schema+"`.load_data_from_s3(?)",
		"LOAD DATA FROM S3 's3://"+w.bucket+"/rows.csv' INTO TABLE t FIELDS TERMINATED BY ','")
	waitFor(t, "the load to run, blocked on the table", 30*time.Second, func() bool {
		return scalar[int](t, admin, `SELECT count(*) FROM information_schema.processlist WHERE info LIKE 'LOAD DATA%' AND state LIKE '%lock%'`) > 0
	})
	if _, err := admin.ExecContext(ctx, "KILL ?", callerID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the running load to be cancelled", 30*time.Second, func() bool {
		return scalar[string](t, admin, "SELECT lifecycle FROM `"+schema+"`.tasks ORDER BY task_id DESC LIMIT 1") == "CANCELLED"
	})
	if _, err := lock.ExecContext(ctx, `UNLOCK TABLES`); err != nil {
		t.Fatal(err)
	}
	contains(t, "cancelled load", scalar[string](t, admin, "SELECT task_info FROM `"+schema+"`.tasks ORDER BY task_id DESC LIMIT 1"), "has ended")
	if n := scalar[int](t, admin, `SELECT count(*) FROM t`); n != 0 {
		t.Errorf("%d rows landed from a load whose caller went away", n)
	}
}

// TestStoppedAgentIsGoneAtOnce: after an agent stops gracefully, a
// synchronous SQL call fails at once and says when the agent was last
// seen, rather than "never" or a wait for the staleness window.
func TestStoppedAgentIsGoneAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.Postgres(t)
	w.mustCLI("attach", "--db", url, "--endpoint", w.minio.Endpoint)
	db := openDB(t, "pgx", url)
	agent := w.agent("--db", url)
	if err := agent.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	agent.Wait()
	start := time.Now()
	_, err := db.ExecContext(t.Context(), `select * from s3bridge.query_export_to_s3('select 1', $1, 'x')`, w.bucket)
	if err == nil || !strings.Contains(err.Error(), "no s3bridge agent is serving this instance (last seen 20") {
		t.Errorf("after the agent stopped: got %v, want the no-agent error with its last-seen time", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the no-agent error took %s", d)
	}
}
