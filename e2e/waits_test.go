package e2e

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
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
	w, admin, schema := mariaLoadWorld(t)
	ctx := t.Context()

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
		// This test's load only: the server's processlist holds every
		// test's sessions, and another test's LOAD DATA may be waiting on
		// a lock of its own.
		return scalar[int](t, admin, `SELECT count(*) FROM information_schema.processlist
			WHERE db = DATABASE() AND info LIKE 'LOAD DATA%' AND state LIKE '%lock%'`) > 0
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

// TestPostgresCallerProcessDies (issue 8): the client process of a
// running query_export_to_s3 is killed (SIGKILL: no goodbye on the wire).
// Its backend notices the closed socket (client_connection_check_interval)
// and ends, and the agent, finding the caller's session gone, cancels the
// export within seconds: no object, no multipart upload left.
func TestPostgresCallerProcessDies(t *testing.T) {
	t.Parallel()
	psql, err := exec.LookPath("psql")
	if err != nil {
		// scripts/services.sh installs PostgreSQL, client included.
		testenv.Unavailable(t, "psql", err)
	}
	w := newWorld(t)
	url := testenv.Postgres(t)
	w.mustCLI("attach", "--db", url, "--endpoint", w.minio.Endpoint)
	w.agent("--db", url, "--tick", "100ms")
	db := openDB(t, "pgx", url)
	// One row a millisecond: about two minutes of export.
	slow := `SELECT g, pg_sleep(0.001)::text AS pause FROM generate_series(1, 100000) AS g`
	caller := exec.Command(psql, "-X", "-q", "-d", url, "-c",
		"select * from s3bridge.query_export_to_s3($q$"+slow+"$q$, '"+w.bucket+"', 'gone/slow.csv')")
	caller.Env = append(os.Environ(), "PGAPPNAME=s3bridge_test_caller")
	caller.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := caller.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the export to stream into a staged part", 30*time.Second, func() bool {
		return scalar[int](t, db, `select count(*) from s3bridge.tasks where lifecycle = 'IN_PROGRESS'`) == 1 &&
			multipartUploads(t, w) == 1
	})
	pid := scalar[int](t, db, `select pid from pg_stat_activity where application_name = 's3bridge_test_caller'`)
	if err := caller.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	caller.Wait()
	killed := time.Now()
	waitFor(t, "the export to be cancelled", 30*time.Second, func() bool {
		return scalar[string](t, db, `select lifecycle from s3bridge.tasks`) == "CANCELLED"
	})
	d := time.Since(killed)
	t.Logf("the export was cancelled %s after its client died", d)
	if d > 10*time.Second {
		t.Errorf("the export was cancelled %s after its client died, want within a few seconds", d)
	}
	contains(t, "cancelled export", scalar[string](t, db, `select task_info from s3bridge.tasks`), "has ended")
	if n := scalar[int](t, db, `select count(*) from pg_stat_activity where pid = $1`, pid); n != 0 {
		t.Errorf("the dead client's backend %d is still there", pid)
	}
	if keys := listKeys(t, w, "gone/"); len(keys) != 0 {
		t.Errorf("the cancelled export left %v", keys)
	}
	waitFor(t, "no multipart upload to be left", 10*time.Second, func() bool { return multipartUploads(t, w) == 0 })
}

// TestMariaDBCallEndedKeepingItsConnection (issue 8): KILL QUERY of the
// caller, or max_statement_time, ends a CALL but keeps its connection
// open; its task is cancelled within seconds all the same, whether it runs
// (a load blocked on the table) or waits in the queue, and never loads.
func TestMariaDBCallEndedKeepingItsConnection(t *testing.T) {
	t.Parallel()
	// One load at a time: a second one waits in the queue.
	w, admin, schema := mariaLoadWorld(t, "--max-running-load", "1")
	ctx := t.Context()
	load := "LOAD DATA FROM S3 's3://" + w.bucket + "/rows.csv' INTO TABLE t FIELDS TERMINATED BY ','"
	tasks := "`" + schema + "`.tasks"
	lock, err := admin.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	// call starts a CALL on a connection of its own and returns the
	// connection's id, its task's id once queued, and the call's end.
	call := func(prefix string) (int64, int64, <-chan error) {
		t.Helper()
		conn, err := admin.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		var session int64
		if err := conn.QueryRowContext(ctx, `SELECT CONNECTION_ID()`).Scan(&session); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := conn.ExecContext(ctx, prefix+"CALL `"+schema+"`.load_data_from_s3(?)", load)
			done <- err
		}()
		var id int64
		waitFor(t, "the caller's task to be queued", 30*time.Second, func() bool {
			return admin.QueryRowContext(ctx, "SELECT task_id FROM "+tasks+" WHERE caller_session = ?", strconv.FormatInt(session, 10)).Scan(&id) == nil
		})
		return session, id, done
	}
	lifecycle := func(id int64) string {
		return scalar[string](t, admin, "SELECT lifecycle FROM "+tasks+" WHERE task_id = ?", id)
	}
	ended := func(what string, done <-chan error) time.Time {
		t.Helper()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s: the CALL succeeded", what)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the CALL did not end", what)
		}
		return time.Now()
	}
	cancelledWithin := func(what string, id int64, since time.Time) {
		t.Helper()
		waitFor(t, what+": the task to be cancelled", 30*time.Second, func() bool { return lifecycle(id) == "CANCELLED" })
		d := time.Since(since)
		t.Logf("%s: task %d cancelled %s after the CALL ended", what, id, d)
		if d > 10*time.Second {
			t.Errorf("%s: task %d cancelled %s after the CALL ended, want within a few seconds", what, id, d)
		}
		contains(t, what, scalar[string](t, admin, "SELECT task_info FROM "+tasks+" WHERE task_id = ?", id), "has ended")
	}
	blocked := func() bool {
		return scalar[int](t, admin, `SELECT count(*) FROM information_schema.processlist
			WHERE db = DATABASE() AND info LIKE 'LOAD DATA%' AND state LIKE '%lock%'`) > 0
	}

	// Running: each load is blocked on the locked table when its CALL ends.
	for _, c := range []struct{ name, prefix string }{
		{"KILL QUERY of a running load", ""},
		{"max_statement_time of a running load", "SET STATEMENT max_statement_time = 3 FOR "},
	} {
		if _, err := lock.ExecContext(ctx, `LOCK TABLES t WRITE`); err != nil {
			t.Fatal(err)
		}
		session, id, done := call(c.prefix)
		waitFor(t, c.name+": the load to run, blocked on the table", 30*time.Second, blocked)
		if c.prefix == "" {
			if _, err := admin.ExecContext(ctx, "KILL QUERY ?", session); err != nil {
				t.Fatal(err)
			}
		}
		cancelledWithin(c.name, id, ended(c.name, done))
		if _, err := lock.ExecContext(ctx, `UNLOCK TABLES`); err != nil {
			t.Fatal(err)
		}
		if n := scalar[int](t, admin, `SELECT count(*) FROM t`); n != 0 {
			t.Errorf("%s: %d rows landed", c.name, n)
		}
	}

	// Queued: a first load holds the only load slot, blocked on the table;
	// the second CALL is killed while its task waits.
	if _, err := lock.ExecContext(ctx, `LOCK TABLES t WRITE`); err != nil {
		t.Fatal(err)
	}
	_, first, firstDone := call("")
	waitFor(t, "the first load to run, blocked on the table", 30*time.Second, blocked)
	session, queued, done := call("")
	if lc := lifecycle(queued); lc != "CREATED" {
		t.Fatalf("the second load is %s, want CREATED behind the first", lc)
	}
	if _, err := admin.ExecContext(ctx, "KILL QUERY ?", session); err != nil {
		t.Fatal(err)
	}
	cancelledWithin("KILL QUERY of a queued load", queued, ended("KILL QUERY of a queued load", done))
	if _, err := lock.ExecContext(ctx, `UNLOCK TABLES`); err != nil {
		t.Fatal(err)
	}
	if err := <-firstDone; err != nil {
		t.Fatalf("the first load: %v", err)
	}
	if lc := lifecycle(first); lc != "SUCCESS" {
		t.Errorf("the first load is %s, want SUCCESS", lc)
	}
	if n := scalar[int](t, admin, `SELECT count(*) FROM t`); n != 2 {
		t.Errorf("%d rows, want the first load's 2 alone", n)
	}
}

// TestAgentKilledMidTaskNoOtherAgent (issue 8): the only agent is killed
// (SIGKILL) while it runs the task a synchronous SQL call waits for. Once
// its lease has run out with no live agent left to take the task over,
// the call cancels the task and fails with the no-agent error, instead of
// polling forever.
func TestAgentKilledMidTaskNoOtherAgent(t *testing.T) {
	t.Parallel()
	const lease = 4 * time.Second
	// The call ends once the lease has run out and the agent counts as
	// gone (no beat for AgentStaleSeconds), plus a few seconds.
	bound := max(lease, s3bridge.AgentStaleSeconds*time.Second) + 5*time.Second
	for _, c := range []struct {
		name   string
		driver string
		url    func(t *testing.T) string
		// setup returns the call, whether its task runs yet, and what
		// to check once the call has ended
		setup func(t *testing.T, w *world, db *sql.DB) (call string, args []any, running func() bool, after func())
	}{
		{"PostgreSQL export", "pgx", func(t *testing.T) string { return testenv.Postgres(t) },
			func(t *testing.T, w *world, db *sql.DB) (string, []any, func() bool, func()) {
				slow := `SELECT g, pg_sleep(0.001)::text AS pause FROM generate_series(1, 100000) AS g`
				return `select * from s3bridge.query_export_to_s3($1, $2, 'dead/slow.csv')`, []any{slow, w.bucket}, func() bool {
						return scalar[int](t, db, `select count(*) from pg_stat_activity
							where datname = current_database() and query like 'COPY (%' and state = 'active'`) > 0
					}, func() {
						if keys := listKeys(t, w, "dead/"); len(keys) != 0 {
							t.Errorf("the cancelled export left %v", keys)
						}
					}
			}},
		{"MariaDB load", "mysql", func(t *testing.T) string { return testenv.MariaDB(t) },
			func(t *testing.T, w *world, db *sql.DB) (string, []any, func() bool, func()) {
				if _, err := db.ExecContext(t.Context(), `CREATE TABLE t (id INT, name TEXT)`); err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				writeFile(t, dir+"/rows.csv", "1,a\n2,b\n")
				putObject(t, w, "rows.csv", dir+"/rows.csv")
				// A lock holds the load in LOAD DATA while its agent dies.
				lock, err := db.Conn(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { lock.Close() })
				if _, err := lock.ExecContext(t.Context(), `LOCK TABLES t WRITE`); err != nil {
					t.Fatal(err)
				}
				loading := func() int {
					return scalar[int](t, db, `SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() AND info LIKE 'LOAD DATA%'`)
				}
				return "CALL s3bridge.load_data_from_s3(?)", []any{"LOAD DATA FROM S3 's3://" + w.bucket + "/rows.csv' INTO TABLE t FIELDS TERMINATED BY ','"},
					func() bool { return loading() > 0 }, func() {
						// The dead agent's LOAD DATA gets the table, finds
						// its client gone and rolls back.
						if _, err := lock.ExecContext(t.Context(), `UNLOCK TABLES`); err != nil {
							t.Fatal(err)
						}
						waitFor(t, "the dead agent's LOAD DATA to end", 30*time.Second, func() bool { return loading() == 0 })
						if n := scalar[int](t, db, `SELECT count(*) FROM t`); n != 0 {
							t.Errorf("%d rows landed from a load whose agent died", n)
						}
					}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			url := c.url(t)
			w.mustCLI("attach", "--db", url, "--endpoint", w.minio.Endpoint)
			agent := w.agent("--db", url, "--tick", "100ms", "--lease", lease.String())
			dsn, tasks := url, "s3bridge.tasks"
			if c.driver == "mysql" {
				dbName, schema := mariaNames(t, url)
				dsn, tasks = "root@tcp("+testenv.MariaDBHost()+")/"+dbName, "`"+schema+"`.tasks"
			}
			db := openDB(t, c.driver, dsn)
			call, args, running, after := c.setup(t, w, db)
			if c.driver == "mysql" {
				_, schema := mariaNames(t, url)
				call = strings.Replace(call, "s3bridge.", "`"+schema+"`.", 1)
			}
			done := make(chan error, 1)
			go func() {
				_, err := db.ExecContext(t.Context(), call, args...)
				done <- err
			}()
			waitFor(t, "the task to run", 30*time.Second, func() bool {
				return scalar[int](t, db, "SELECT count(*) FROM "+tasks+" WHERE lifecycle = 'IN_PROGRESS'") == 1 && running()
			})
			if err := agent.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			agent.Wait()
			killed := time.Now()
			var err error
			select {
			case err = <-done:
			case <-time.After(2 * bound):
				t.Fatalf("the call still waits %s after the only agent died", 2*bound)
			}
			d := time.Since(killed)
			t.Logf("the call ended %s after the agent died (lease %s)", d, lease)
			if d > bound {
				t.Errorf("the call ended %s after the agent died, want within %s", d, bound)
			}
			if err == nil || !strings.Contains(err.Error(), "no s3bridge agent is serving this instance (last seen 20") {
				t.Errorf("the call: %v, want the no-agent error with the dead agent's last beat", err)
			}
			var lc, info string
			if err := db.QueryRowContext(t.Context(), "SELECT lifecycle, task_info FROM "+tasks).Scan(&lc, &info); err != nil {
				t.Fatal(err)
			}
			if lc != "CANCELLED" || !strings.Contains(info, "the agent running it stopped") {
				t.Errorf("the task: %s %q, want CANCELLED saying its agent stopped", lc, info)
			}
			after()
		})
	}
}

// mariaLoadWorld attaches a MariaDB instance (with attach's extra flags),
// starts an agent on it, and makes table t and the object rows.csv of two
// rows; it returns the world, a root connection to the instance's
// database and the s3bridge schema.
func mariaLoadWorld(t *testing.T, attach ...string) (*world, *sql.DB, string) {
	t.Helper()
	w := newWorld(t)
	url := testenv.MariaDB(t)
	w.mustCLI(append([]string{"attach", "--db", url}, attach...)...)
	w.agent("--db", url, "--tick", "100ms")
	dbName, schema := mariaNames(t, url)
	admin := openDB(t, "mysql", "root@tcp("+testenv.MariaDBHost()+")/"+dbName)
	if _, err := admin.ExecContext(t.Context(), `CREATE TABLE t (id INT, name TEXT)`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, dir+"/rows.csv", "1,a\n2,b\n")
	putObject(t, w, "rows.csv", dir+"/rows.csv")
	return w, admin, schema
}
