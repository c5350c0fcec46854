package mysql_test

import (
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/s3bridge/s3bridge"
)

// waiting are the procedures that wait for an agent, with a statement
// each; no agent runs in these tests, so what they do is never parsed.
var waiting = []struct{ name, statement string }{
	{"load_data_from_s3", "LOAD DATA FROM S3 's3://b/x.csv' INTO TABLE t"},
	{"select_into_outfile_s3", "SELECT 1 INTO OUTFILE S3 's3://b/x'"},
}

func sqlState(t *testing.T, err error) (string, string) {
	t.Helper()
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		t.Fatalf("got %v, want a MariaDB error", err)
	}
	return string(me.SQLState[:]), me.Message
}

// TestWaitWithoutAgent (issue 8): with no agent beating in the last 10 s
// the procedures fail at once, saying when one was last seen and how to
// start one, and enqueue nothing.
func TestWaitWithoutAgent(t *testing.T) {
	in := open(t)
	defer in.Close()
	ctx := t.Context()
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	s := "`" + in.Schema() + "`"
	db := in.DB()
	fix := "start one with: s3bridge agent --db mysql://…/" + in.Name() + "?s3bridge_schema=" + in.Schema()
	stale := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	for _, c := range []struct {
		name, lastSeen string
		setup          func()
	}{
		{"none ever", "never", func() {}},
		{"stale", stale.Format("2006-01-02 15:04:05") + " UTC", func() {
			if err := in.Beat(ctx, s3bridge.AgentInfo{ID: "gone", Host: "h", Version: "v", StartedAt: stale}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, "UPDATE "+s+".agents SET last_seen = ?", stale); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		c.setup()
		for _, w := range waiting {
			start := time.Now()
			_, err := db.ExecContext(ctx, "CALL "+s+"."+w.name+"(?)", w.statement)
			state, msg := sqlState(t, err)
			want := "no s3bridge agent is serving this instance (last seen " + c.lastSeen + "); " + fix
			if state != "HY000" || msg != want {
				t.Errorf("%s, %s: got %s %q; want HY000 %q", c.name, w.name, state, msg, want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%s, %s: failed after %s, want at once", c.name, w.name, d)
			}
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+s+".tasks").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d tasks enqueued (%v), want none", n, err)
	}
}

// TestPickupTimeout (issue 8): a task no agent starts within the pickup
// timeout is cancelled, never to run later, and the call fails saying so;
// the task records the caller's session.
func TestPickupTimeout(t *testing.T) {
	in := open(t)
	defer in.Close()
	ctx := t.Context()
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir(), PickupTimeoutSeconds: 1}); err != nil {
		t.Fatal(err)
	}
	// An agent that beats but claims nothing.
	if err := in.Beat(ctx, s3bridge.AgentInfo{ID: "idle", Host: "h", Version: "v", StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s := "`" + in.Schema() + "`"
	conn, err := in.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var session string
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&session); err != nil {
		t.Fatal(err)
	}
	for _, w := range waiting {
		start := time.Now()
		_, err := conn.ExecContext(ctx, "CALL "+s+"."+w.name+"(?)", w.statement)
		state, msg := sqlState(t, err)
		if d := time.Since(start); d < time.Second || d > 10*time.Second {
			t.Errorf("%s: gave up after %s, want after the 1 s pickup timeout", w.name, d)
		}
		if state != "HY000" || !strings.Contains(msg, "cancelled: no agent started it within 1 s") {
			t.Errorf("%s: got %s %q; want HY000 saying no agent started it", w.name, state, msg)
		}
		var lc, info, code, caller string
		err = conn.QueryRowContext(ctx, "SELECT lifecycle, task_info, error_code, caller_session FROM "+s+".tasks ORDER BY task_id DESC LIMIT 1").
			Scan(&lc, &info, &code, &caller)
		if err != nil || lc != "CANCELLED" || info != "cancelled: no agent started it within 1 s" || code != s3bridge.CodeCancelled || caller != session {
			t.Errorf("%s: task %s %q %s, caller session %s (%v); want CANCELLED, cancelled, session %s", w.name, lc, info, code, caller, err, session)
		}
	}
}

// waitCall runs CALL s3bridge.name(statement) on conn in the background
// and returns the call's error when it ends.
func waitCall(t *testing.T, conn *sql.Conn, call string, args ...any) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := conn.ExecContext(t.Context(), call, args...)
		done <- err
	}()
	return done
}

// connectionID returns the server's id of conn's session.
func connectionID(t *testing.T, conn *sql.Conn) int64 {
	t.Helper()
	var id int64
	if err := conn.QueryRowContext(t.Context(), "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// lastTask returns the newest task's id and lifecycle.
func lastTask(t *testing.T, db *sql.DB, schema string) (int64, string) {
	t.Helper()
	var id int64
	var lc string
	err := db.QueryRowContext(t.Context(), "SELECT task_id, lifecycle FROM `"+schema+"`.tasks ORDER BY task_id DESC LIMIT 1").Scan(&id, &lc)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return id, lc
}

// waitUntil polls cond every 20 ms until it holds, failing the test after
// timeout.
func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSessionAlive (issue 8): a synchronous caller counts as alive only
// while its connection runs a statement, as it does for as long as it
// waits inside its CALL: an idle connection (a CALL ended by KILL QUERY or
// max_statement_time) and a closed one are gone.
func TestSessionAlive(t *testing.T) {
	in := open(t)
	defer in.Close()
	ctx := t.Context()
	db := in.DB()
	running, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer running.Close()
	runningID := connectionID(t, running)
	busy := waitCall(t, running, "DO SLEEP(30)")
	waitUntil(t, "the statement to run", 10*time.Second, func() bool {
		var n int
		db.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.processlist WHERE id = ? AND command <> 'Sleep'", runningID).Scan(&n)
		return n == 1
	})
	idle, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	closed, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	closedID := connectionID(t, closed)
	if _, err := db.ExecContext(ctx, "KILL ?", closedID); err != nil {
		t.Fatal(err)
	}
	closed.Close()
	for _, c := range []struct {
		name    string
		session int64
		want    bool
	}{
		{"running a statement", runningID, true},
		{"idle", connectionID(t, idle), false},
		{"closed", closedID, false},
	} {
		got, err := in.SessionAlive(ctx, strconv.FormatInt(c.session, 10))
		if err != nil || got != c.want {
			t.Errorf("%s: alive %v (%v), want %v", c.name, got, err, c.want)
		}
	}
	if _, err := db.ExecContext(ctx, "KILL QUERY ?", runningID); err != nil {
		t.Fatal(err)
	}
	<-busy
}

// TestCallEndedKeepingItsConnection (issue 8): a CALL ended by KILL QUERY
// or max_statement_time leaves its connection open but no longer waiting:
// its queued task is cancelled by the next claim, never run.
func TestCallEndedKeepingItsConnection(t *testing.T) {
	in, beat := idleAgent(t)
	defer in.Close()
	ctx := t.Context()
	s := "`" + in.Schema() + "`"
	db := in.DB()
	for _, c := range []struct {
		name   string
		prefix string              // before the CALL
		end    func(session int64) // what ends it, nil: the statement's own time limit
	}{
		{"KILL QUERY", "", func(session int64) {
			if _, err := db.ExecContext(ctx, "KILL QUERY ?", session); err != nil {
				t.Fatal(err)
			}
		}},
		{"max_statement_time", "SET STATEMENT max_statement_time = 1 FOR ", nil},
	} {
		for _, w := range waiting {
			beat()
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			session := connectionID(t, conn)
			before, _ := lastTask(t, db, in.Schema())
			done := waitCall(t, conn, c.prefix+"CALL "+s+"."+w.name+"(?)", w.statement)
			var id int64
			waitUntil(t, "the task to be queued", 10*time.Second, func() bool {
				var lc string
				id, lc = lastTask(t, db, in.Schema())
				return id > before && lc == "CREATED"
			})
			if c.end != nil {
				c.end(session)
			}
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s, %s: the CALL did not end", c.name, w.name)
			}
			if err == nil {
				t.Errorf("%s, %s: the CALL succeeded", c.name, w.name)
			}
			claimed, err := in.Claim(ctx, "agent", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if claimed != nil {
				t.Errorf("%s, %s: task %d was claimed after its caller left the CALL", c.name, w.name, claimed.ID)
				in.Finish(ctx, claimed.Claim(), s3bridge.Cancelled, s3bridge.Result{Info: "test"})
			}
			var lc, info string
			if err := db.QueryRowContext(ctx, "SELECT lifecycle, task_info FROM "+s+".tasks WHERE task_id = ?", id).Scan(&lc, &info); err != nil {
				t.Fatal(err)
			}
			if lc != "CANCELLED" || !strings.Contains(info, "has ended") {
				t.Errorf("%s, %s: task %d %s %q, want CANCELLED: its caller has ended", c.name, w.name, id, lc, info)
			}
			conn.Close()
		}
	}
}

// TestSessionPickupTimeout (issue 8): @s3bridge_pickup_timeout (seconds)
// overrides the instance's pickup timeout for the session; a value that
// is not a positive number of seconds fails the call and cancels its task.
func TestSessionPickupTimeout(t *testing.T) {
	in, beat := idleAgent(t)
	defer in.Close()
	ctx := t.Context()
	s := "`" + in.Schema() + "`"
	conn, err := in.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, c := range []struct {
		value    any
		want     string // in the error and the task's task_info
		min, max time.Duration
	}{
		{1, "no agent started it within 1 s", time.Second, 10 * time.Second},
		{"1.5", "no agent started it within 1.5 s", 1500 * time.Millisecond, 10 * time.Second},
		{0, "@s3bridge_pickup_timeout '0': want a positive number of seconds", 0, 5 * time.Second},
		{-3, "@s3bridge_pickup_timeout '-3': want a positive number of seconds", 0, 5 * time.Second},
		{"soon", "@s3bridge_pickup_timeout 'soon': want a positive number of seconds", 0, 5 * time.Second},
	} {
		if _, err := conn.ExecContext(ctx, "SET @s3bridge_pickup_timeout = ?", c.value); err != nil {
			t.Fatal(err)
		}
		for _, w := range waiting {
			beat()
			start := time.Now()
			_, err := conn.ExecContext(ctx, "CALL "+s+"."+w.name+"(?)", w.statement)
			d := time.Since(start)
			state, msg := sqlState(t, err)
			if state != "HY000" || !strings.Contains(msg, c.want) {
				t.Errorf("%v, %s: got %s %q; want HY000 with %q", c.value, w.name, state, msg, c.want)
			}
			if d < c.min || d > c.max {
				t.Errorf("%v, %s: failed after %s, want between %s and %s", c.value, w.name, d, c.min, c.max)
			}
			var lc, info string
			if err := conn.QueryRowContext(ctx, "SELECT lifecycle, task_info FROM "+s+".tasks ORDER BY task_id DESC LIMIT 1").Scan(&lc, &info); err != nil {
				t.Fatal(err)
			}
			if lc != "CANCELLED" || !strings.Contains(info, c.want) {
				t.Errorf("%v, %s: task %s %q, want CANCELLED with %q", c.value, w.name, lc, info, c.want)
			}
		}
	}
}

// TestAbandonedTask (issue 8): when the agent running a task dies (its
// lease runs out) and no live agent is left to take it over, the waiting
// CALL cancels the task and fails with the no-agent error; while a live
// agent serves the instance, it waits for the takeover instead.
func TestAbandonedTask(t *testing.T) {
	in := open(t)
	defer in.Close()
	ctx := t.Context()
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	s := "`" + in.Schema() + "`"
	db := in.DB()
	const lease = time.Second
	for _, w := range waiting {
		// The agent that claims the task, and dies silently.
		if err := in.Beat(ctx, s3bridge.AgentInfo{ID: "dying", Host: "h", Version: "v", StartedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		before, _ := lastTask(t, db, in.Schema())
		done := waitCall(t, conn, "CALL "+s+"."+w.name+"(?)", w.statement)
		waitUntil(t, "the task to be queued", 10*time.Second, func() bool {
			id, lc := lastTask(t, db, in.Schema())
			return id > before && lc == "CREATED"
		})
		task, err := in.Claim(ctx, "dying", lease)
		if err != nil || task == nil {
			t.Fatalf("%s: claim: %v, %v", w.name, task, err)
		}
		// Another agent is alive: the lease runs out, and the call waits
		// for that agent to take the task over.
		if err := in.Beat(ctx, s3bridge.AgentInfo{ID: "alive", Host: "h", Version: "v", StartedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "UPDATE "+s+".agents SET last_seen = UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE WHERE agent_id = 'dying'"); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Fatalf("%s: with a live agent the call ended: %v", w.name, err)
		case <-time.After(lease + 2*time.Second):
		}
		if _, lc := lastTask(t, db, in.Schema()); lc != "IN_PROGRESS" {
			t.Errorf("%s: with a live agent the task is %s, want IN_PROGRESS awaiting a takeover", w.name, lc)
		}
		// The last agent dies too: the call ends within a few seconds.
		if _, err := db.ExecContext(ctx, "UPDATE "+s+".agents SET last_seen = UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE"); err != nil {
			t.Fatal(err)
		}
		var callErr error
		select {
		case callErr = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the call still waits for a task no agent is left to run", w.name)
		}
		state, msg := sqlState(t, callErr)
		if state != "HY000" || !strings.HasPrefix(msg, "no s3bridge agent is serving this instance (last seen ") ||
			!strings.HasSuffix(msg, " UTC); start one with: s3bridge agent --db mysql://…/"+in.Name()+"?s3bridge_schema="+in.Schema()) {
			t.Errorf("%s: got %s %q; want HY000, no s3bridge agent is serving this instance", w.name, state, msg)
		}
		var lc, info, code string
		if err := db.QueryRowContext(ctx, "SELECT lifecycle, task_info, error_code FROM "+s+".tasks WHERE task_id = ?", task.ID).Scan(&lc, &info, &code); err != nil {
			t.Fatal(err)
		}
		if lc != "CANCELLED" || code != s3bridge.CodeCancelled || !strings.Contains(info, "the agent running it stopped, and no s3bridge agent is serving") {
			t.Errorf("%s: task %s %q %s; want CANCELLED, cancelled, saying its agent stopped", w.name, lc, info, code)
		}
		// The dead agent's late Finish finds the task gone from it.
		if err := in.Finish(ctx, task.Claim(), s3bridge.Success, s3bridge.Result{Info: "late"}); !errors.Is(err, s3bridge.ErrLeaseLost) {
			t.Errorf("%s: a late finish of the cancelled task: %v, want ErrLeaseLost", w.name, err)
		}
		conn.Close()
	}
}
