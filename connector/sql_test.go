package connector_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/connector"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
)

// TestConnectorRunSQL: connector_run(name) queues the run `connector run`
// queues, an agent runs it, and connector_history shows it; an unknown
// name is an error. On PostgreSQL it is a function, on MariaDB a
// procedure returning one row.
func TestConnectorRunSQL(t *testing.T) {
	for _, d := range databases[1:] {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			h.put("ev/a.csv", []byte("id,name\n1,ann\n2,bob\n"))
			c := h.setup("ev/", "")
			stored := h.hold(c)
			st, err := connector.Stored(sqlstore.Connector{Name: "events", Table: "t"}, stored, time.Now())
			must(t, err)
			must(t, h.in.(interface {
				CreateConnector(context.Context, sqlstore.Connector) error
			}).CreateConnector(t.Context(), st))
			schema := h.in.(interface{ Schema() string }).Schema()
			call := func(name string) (int64, error) {
				var id int64
				var err error
				if d.Name == "postgres" {
					err = h.db.QueryRowContext(t.Context(), fmt.Sprintf(`SELECT %q.connector_run($1)`, schema), name).Scan(&id)
				} else {
					err = h.db.QueryRowContext(t.Context(), "CALL `"+schema+"`.connector_run(?)", name).Scan(&id)
				}
				return id, err
			}
			id, err := call("events")
			must(t, err)
			task, err := h.in.Task(t.Context(), id)
			must(t, err)
			if task.Type != s3bridge.TaskImportFromS3 || task.Lifecycle != s3bridge.Created {
				t.Fatalf("task %d: %s %s", id, task.Type, task.Lifecycle)
			}
			p, err := connector.RunTask(st, nil, false)
			must(t, err)
			want, err := connector.Task(p)
			must(t, err)
			if task.S3ObjectARN != want.S3ObjectARN {
				t.Errorf("s3_object_arn %q, want %q", task.S3ObjectARN, want.S3ObjectARN)
			}
			claimed, err := h.in.ClaimTask(t.Context(), id, h.agent.ID(), time.Minute)
			must(t, err)
			if claimed == nil {
				t.Fatalf("task %d not claimable", id)
			}
			h.agent.Execute(t.Context(), h.in, claimed)
			if got := joined(h.ids("t")); got != "1,2" {
				t.Fatalf("after the SQL-started run: ids %s", got)
			}
			q := fmt.Sprintf(`SELECT "JobID", "Status", "Records", "Files", "Table", "Scheduled" IS NULL, "Started" IS NOT NULL, "Duration" >= 0
				FROM %q.connector_history WHERE "Connector" = 'events'`, schema)
			if d.Name != "postgres" {
				q = strings.ReplaceAll(q, `"`, "`")
			}
			var (
				job, records, files int64
				status, table       string
				manual, started, ok bool
			)
			must(t, h.db.QueryRowContext(t.Context(), q).Scan(&job, &status, &records, &files, &table, &manual, &started, &ok))
			if got, want := fmt.Sprint(job, status, records, files, table, manual, started, ok), fmt.Sprint(id, "SUCCESS", 2, 1, "t", true, true, true); got != want {
				t.Errorf("connector_history: %s, want %s", got, want)
			}
			if _, err := call("nope"); err == nil || !strings.Contains(err.Error(), "connector nope does not exist") {
				t.Errorf("connector_run of an unknown name: %v", err)
			}
			if d.Name == "postgres" {
				var fn, view bool
				must(t, h.db.QueryRowContext(t.Context(), fmt.Sprintf(`SELECT has_function_privilege('s3bridge_load', '%[1]s.connector_run(text)', 'EXECUTE'),
					has_table_privilege('s3bridge_load', '%[1]s.connector_history', 'SELECT')`, schema)).Scan(&fn, &view))
				if !fn || !view {
					t.Errorf("s3bridge_load: EXECUTE connector_run %v, SELECT connector_history %v", fn, view)
				}
			}
		})
	}
}
