package mysql_test

import (
	"errors"
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
