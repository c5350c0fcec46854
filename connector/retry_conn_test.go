package connector_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/connector"
	"github.com/s3bridge/s3bridge/internal/faultproxy"
)

// killLoad ends the sessions that may be loading rows, as a server
// restart or a network cut would. PostgreSQL: the test database's
// sessions in a transaction. MariaDB: the test user's other sessions (it
// sees only its own, without PROCESS); the instance's idle pooled ones
// are replaced by database/sql, the load's is not.
var killLoad = map[string]string{
	"postgres": `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND (state = 'idle in transaction' OR query ILIKE 'COPY%')`,
	"mariadb": `SELECT id FROM information_schema.processlist WHERE id <> CONNECTION_ID() AND command <> 'Daemon'`,
}

// TestRunRetriedLostConnection: the database session of a run's load is
// killed in the middle of the load; the attempt fails, the run is
// retried whole, and every row and ledger row is there once.
func TestRunRetriedLostConnection(t *testing.T) {
	for _, d := range databases[1:] {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			h.put("lc/a.csv", []byte("id,v\n1,x\n2,y\n"))
			h.put("lc/b.csv", []byte("id,v\n3,z\n"))
			c := h.setup("lc/", "")
			proxy := faultproxy.Start(t, h.m.Endpoint)
			c.In.Endpoint = proxy.URL
			three := 3
			c.In.Retry = connector.Retry{MaximumRetries: &three, InitialRetryIntervalMillis: 10, MaximumRetryIntervalMillis: 40}
			stored, held := c.Held()
			for k, v := range held {
				h.held[k] = v
			}
			r := h.runner(0)
			task, err := connector.Task(connector.Params{Name: "lc", Config: stored, Table: "t"})
			must(t, err)
			id, err := h.in.Enqueue(t.Context(), task)
			must(t, err)
			claimed, err := h.in.ClaimTask(t.Context(), id, "retry-test", time.Minute)
			must(t, err)
			// b.csv's GET waits while a.csv's rows are in the open load.
			fault := proxy.Add(faultproxy.Rule{Op: faultproxy.GetObject, Key: "lc/b.csv", Times: 1, Action: faultproxy.Delay(2 * time.Second)})
			type outcome struct {
				res s3bridge.Result
				err error
			}
			done := make(chan outcome, 1)
			rep := &logged{}
			go func() {
				res, err := r.Run(t.Context(), h.in, *claimed, s3bridge.Settings{}, rep)
				done <- outcome{res, err}
			}()
			// Kill the loading session once it shows, while b.csv waits.
			kill := func() int {
				if d.name == "postgres" {
					return h.count(killLoad[d.name])
				}
				var ids []int64
				rows, err := h.db.QueryContext(t.Context(), killLoad[d.name])
				must(t, err)
				for rows.Next() {
					var id int64
					must(t, rows.Scan(&id))
					ids = append(ids, id)
				}
				rows.Close()
				n := 0
				for _, id := range ids {
					if _, err := h.db.ExecContext(t.Context(), "KILL CONNECTION "+strconv.FormatInt(id, 10)); err == nil {
						n++
					}
				}
				return n
			}
			for deadline := time.Now().Add(20 * time.Second); fault.Hits() == 0 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond) // a.csv loaded, b.csv's GET waiting
			killed := kill()
			if killed == 0 {
				t.Fatalf("killed no session; the test proves nothing")
			}
			var got outcome
			select {
			case got = <-done:
			case <-time.After(time.Minute):
				t.Fatal("the run did not end within a minute of its connection's loss")
			}
			if got.err != nil {
				t.Fatalf("the run failed: %v (log %q)", got.err, rep.lines)
			}
			if rep.count("retrying the run") != 1 {
				t.Errorf("%d retries logged, want 1: %q", rep.count("retrying the run"), rep.lines)
			}
			if got.res.Rows != 3 || got.res.Files != 2 {
				t.Errorf("result: %d rows, %d files; want 3, 2", got.res.Rows, got.res.Files)
			}
			if ids := joined(h.ids("t")); ids != "1,2,3" {
				t.Errorf("ids %s, want 1,2,3 (each row once)", ids)
			}
			if n := h.ledger("lc"); n != 2 {
				t.Errorf("%d ledger rows, want 2", n)
			}
		})
	}
}
