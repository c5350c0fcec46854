package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestPickupTimeoutSettings (issue 8): attach --pickup-timeout sets the
// instance's pickup timeout, parsed strictly, and a re-attach prints its
// change as old → new; a PostgreSQL session overrides it with SET
// s3bridge.pickup_timeout, and a value that is not a positive interval
// fails the call before anything is enqueued.
func TestPickupTimeoutSettings(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.Postgres(t)
	for _, bad := range []string{"5", "1.5s", "0s", "-3s", "25h", "soon"} {
		_, err := w.cli("attach", "--db", url, "--pickup-timeout", bad)
		contains(t, "attach --pickup-timeout "+bad, errString(err),
			`invalid value "`+bad+`" for flag -pickup-timeout: want a whole number of seconds from 1s to 24h`)
	}
	w.mustCLI("attach", "--db", url, "--endpoint", w.minio.Endpoint, "--pickup-timeout", "2s")
	contains(t, "attach --json", w.mustCLI("attach", "--db", url, "--json"), `"pickup_timeout_seconds":2`)
	if out := w.stderrOf("attach", "--db", url, "--pickup-timeout", "2s"); strings.Contains(out, "changed ") {
		t.Errorf("a re-attach that changes nothing printed changes:\n%s", out)
	}

	db := openDB(t, "pgx", url)
	ctx := t.Context()
	// An agent that is recorded but takes nothing.
	if _, err := db.ExecContext(ctx, `insert into s3bridge.agents values ('silent', 'h', 'v', now(), now() + interval '1 hour')`); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	export := `select * from s3bridge.query_export_to_s3('select 1', $1, 'p/x.csv')`
	tasks := func() int { return scalar[int](t, db, `select count(*) from s3bridge.tasks`) }
	for _, c := range []struct {
		name, set string // the session's setting, "" for none
		want      string
		min, max  time.Duration
	}{
		{"the instance's, from attach", "", "no s3bridge agent started it within 00:00:02", 2 * time.Second, 10 * time.Second},
		{"the session's", "1s", "no s3bridge agent started it within 00:00:01", time.Second, 10 * time.Second},
		{"the session's, a bare number of seconds", "1.5", "no s3bridge agent started it within 00:00:01.5", 1500 * time.Millisecond, 10 * time.Second},
		{"an interval that is not one", "soon", `s3bridge.pickup_timeout 'soon': want a positive interval such as '5s' or '2 min' (SQLSTATE 22023)`, 0, 5 * time.Second},
		{"a negative interval", "-5s", `s3bridge.pickup_timeout '-5s': want a positive interval`, 0, 5 * time.Second},
		{"zero", "0", `s3bridge.pickup_timeout '0': want a positive interval`, 0, 5 * time.Second},
	} {
		if _, err := conn.ExecContext(ctx, `select set_config('s3bridge.pickup_timeout', $1, false)`, c.set); err != nil {
			t.Fatal(err)
		}
		before := tasks()
		start := time.Now()
		_, err := conn.ExecContext(ctx, export, w.bucket)
		d := time.Since(start)
		contains(t, c.name, errString(err), c.want)
		if d < c.min || d > c.max {
			t.Errorf("%s: failed after %s, want between %s and %s", c.name, d, c.min, c.max)
		}
		if c.min == 0 {
			if n := tasks(); n != before {
				t.Errorf("%s: %d tasks enqueued, want none", c.name, n-before)
			}
			continue
		}
		contains(t, c.name, scalar[string](t, db, `select lifecycle || ' ' || task_info from s3bridge.tasks order by task_id desc limit 1`),
			"CANCELLED", c.want)
	}

	out := w.stderrOf("attach", "--db", url, "--pickup-timeout", "1m")
	contains(t, "re-attach with another pickup timeout", out, "changed pickup_timeout_seconds: 2 → 60")
	contains(t, "attach --json", w.mustCLI("attach", "--db", url, "--json"), `"pickup_timeout_seconds":60`)
}
