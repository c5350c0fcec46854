package load_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/load"
)

// tasksTable is the quoted name of the instance's tasks table.
func tasksTable(h *harness, name string) string {
	switch name {
	case "sqlite":
		return `"s3bridge_tasks"`
	case "mariadb":
		return "`" + h.in.(interface{ Schema() string }).Schema() + "`.`tasks`"
	}
	return `"` + h.in.(interface{ Schema() string }).Schema() + `"."tasks"`
}

// columns reads a task's result columns with SQL.
func (h *harness) columns(table string, id int64) (rows, files, bytes int64, code string) {
	h.t.Helper()
	var c *string
	must(h.t, h.db.QueryRowContext(h.t.Context(), `SELECT rows_processed, files_processed, bytes_processed, error_code FROM `+table+
		` WHERE task_id = `+fmt.Sprint(id)).Scan(&rows, &files, &bytes, &c))
	if c != nil {
		code = *c
	}
	return rows, files, bytes, code
}

// TestResultColumns: a load's rows, files and bytes are committed in the
// task's columns with the rows themselves, and a failure's error code is
// the class of its error.
func TestResultColumns(t *testing.T) {
	for _, d := range dbs {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			a := h.put("r/a.csv", []byte(sample))
			h.put("r/b.csv", []byte("id,name,amount\n3,gamma,1\n"))
			done := h.ok(load.Params{Source: load.SourcePrefix, URI: "s3://" + h.bucket + "/r/", Table: "t", Options: csvOpts()})
			size := int64(len(sample) + len("id,name,amount\n3,gamma,1\n"))
			table := tasksTable(h, d.name)
			if rows, files, bytes, code := h.columns(table, done.ID); rows != 3 || files != 2 || bytes != size || code != "" {
				t.Errorf("load columns: rows %d, files %d, bytes %d, code %q; want 3, 2, %d and none", rows, files, bytes, code, size)
			}
			if done.Rows != 3 || done.Files != 2 || done.Bytes != size {
				t.Errorf("load task: %+v", done)
			}
			failed := h.run(load.Params{Source: load.SourceFile, URI: a + ".missing", Table: "t", Options: csvOpts()})
			if _, _, _, code := h.columns(table, failed.ID); failed.Lifecycle != s3bridge.Failed || code != s3bridge.CodeNotFound {
				t.Errorf("load of a missing object: %s, code %q; want ERROR, %q (%s)", failed.Lifecycle, code, s3bridge.CodeNotFound, failed.TaskInfo)
			}
		})
	}
}

// TestMariaDBLoadDataErrorCode: load_data_from_s3 raises SQLSTATE 42000
// when the task's error code says access was denied, and only then: a
// task_info that merely says so (here rewritten by a trigger) does not.
func TestMariaDBLoadDataErrorCode(t *testing.T) {
	t.Parallel()
	if dbs[2].name != "mariadb" {
		t.Fatalf("dbs[2] is %s, want mariadb", dbs[2].name)
	}
	h := newHarness(t, dbs[2])
	schema := "`" + h.in.(interface{ Schema() string }).Schema() + "`"
	r := &load.Runner{Deps: s3bridge.Deps[load.ObjectStore]{
		Store: func(context.Context, s3bridge.Settings) (load.ObjectStore, error) { return h.store, nil },
		Guard: func(s3bridge.Settings, string) (s3bridge.Guard, error) { return deniedGuard{"denied"}, nil },
	}}
	a := agent.New(agent.Config{Tick: 50 * time.Millisecond}, map[s3bridge.TaskType]agent.Runner{s3bridge.TaskLoadFromS3: r})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { a.Serve(ctx, h.in); close(served) }()
	t.Cleanup(func() { cancel(); <-served })
	_, err := h.db.ExecContext(t.Context(), "CREATE TRIGGER "+schema+".`lie` BEFORE UPDATE ON "+schema+".`tasks` FOR EACH ROW "+
		"SET NEW.task_info = IF(NEW.lifecycle = 'ERROR', CONCAT('access denied (a lie): ', NEW.task_info), NEW.task_info)")
	must(t, err)
	uri := h.put("in/ok.csv", []byte("7,seven,7\n"))
	call := func(uri string) error {
		rows, err := h.db.QueryContext(t.Context(), "CALL "+schema+".load_data_from_s3(?)",
			"LOAD DATA FROM S3 FILE '"+uri+"' INTO TABLE t FIELDS TERMINATED BY ','")
		if err == nil {
			rows.Close()
		}
		return err
	}
	must(t, call(uri))
	for _, tc := range []struct{ uri, state string }{
		{"s3://" + h.bucket + "/in/denied.csv", "42000"},
		{"s3://" + h.bucket + "/in/missing.csv", "HY000"},
	} {
		err := call(tc.uri)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || string(me.SQLState[:]) != tc.state || !strings.Contains(err.Error(), "access denied") {
			t.Errorf("%s: got %v, want SQLSTATE %s (and the lying message)", tc.uri, err, tc.state)
		}
	}
}

// deniedGuard denies every action on a resource containing word, the way
// policy.Guard does: its error wraps ErrAccessDenied.
type deniedGuard struct{ word string }

func (g deniedGuard) Allow(action, resource string, _ map[string][]string) error {
	if strings.Contains(resource, g.word) {
		return fmt.Errorf("%s on %s: explicitDeny by the test: %w", action, resource, s3bridge.ErrAccessDenied)
	}
	return nil
}
