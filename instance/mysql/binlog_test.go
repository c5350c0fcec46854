package mysql_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/s3bridge/s3bridge"
)

// binlog reads the server's binary log settings.
func binlog(t *testing.T, db *sql.DB) (logBin, trust bool) {
	t.Helper()
	if err := db.QueryRowContext(t.Context(), "SELECT @@log_bin, @@log_bin_trust_function_creators").Scan(&logBin, &trust); err != nil {
		t.Fatal(err)
	}
	return logBin, trust
}

// calls runs every entry point that enqueues through its procedure form
// and returns the task ids, in order.
func calls(t *testing.T, db interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}, s string) []int64 {
	t.Helper()
	var ids []int64
	for _, q := range []string{
		"CALL " + s + ".upload_to_s3('b', '', 'dbfiles/', 'DATA_PUMP_DIR')",
		"CALL " + s + ".upload_to_s3_compressed('b', 'db', 'gz/', 'DATA_PUMP_DIR', 9)",
		"CALL " + s + ".download_from_s3('b', 'DATA_PUMP_DIR', 'dbfiles/')",
		"CALL " + s + ".download_from_s3_ext('b', 'DATA_PUMP_DIR', 'gz/', 'GZIP', 'TRUE')",
		"CALL " + s + ".download_file_from_s3('arn:aws:s3:::b/x.csv', 'in/x.csv', 1)",
		"CALL " + s + ".upload_file_to_s3('in/x.csv', 'arn:aws:s3:::b/y.csv', 0)",
		"CALL " + s + ".gather_file_details()",
		"CALL " + s + ".delete_from_filesystem('in/', 1)",
	} {
		var id int64
		if err := db.QueryRowContext(t.Context(), q).Scan(&id); err != nil || id == 0 {
			t.Fatalf("%s: task %d, %v", q, id, err)
		}
		ids = append(ids, id)
	}
	return ids
}

// TestAttachWithBinaryLog (issue 15): attach succeeds whatever the binary
// log's format, without log_bin_trust_function_creators, and the
// procedures enqueue, each task owned by the session's user; the function
// forms are there only where the server allows them.
func TestAttachWithBinaryLog(t *testing.T) {
	for _, format := range []string{"ROW", "MIXED", "STATEMENT"} {
		t.Run(format, func(t *testing.T) {
			in := open(t)
			defer in.Close()
			ctx := t.Context()
			// One connection, so the session's binlog_format holds for
			// attach and the calls alike.
			db := in.DB()
			db.SetMaxOpenConns(1)
			if _, err := db.ExecContext(ctx, "SET SESSION binlog_format = "+format); err != nil {
				t.Fatal(err)
			}
			if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
				t.Fatalf("attach with binlog_format %s: %v", format, err)
			}
			s := "`" + in.Schema() + "`"
			ids := calls(t, db, s)
			var owner string
			var session sql.NullString
			if err := db.QueryRowContext(ctx, "SELECT owner, caller_session FROM "+s+".tasks WHERE task_id = ?", ids[0]).Scan(&owner, &session); err != nil {
				t.Fatal(err)
			}
			if owner != "root" || session.Valid {
				t.Errorf("task %d: owner %q, caller_session %v; want root and none", ids[0], owner, session)
			}
			var lc string
			if err := db.QueryRowContext(ctx, "CALL "+s+".cancel_task(?)", ids[0]).Scan(&lc); err != nil || lc != "CANCELLED" {
				t.Errorf("CALL cancel_task: %q, %v; want CANCELLED", lc, err)
			}
			logBin, trust := binlog(t, db)
			_, err := db.ExecContext(ctx, "SELECT "+s+".gather_file_details()")
			var me *mysql.MySQLError
			switch {
			case logBin && !trust:
				if !errors.As(err, &me) || me.Number != 1305 {
					t.Errorf("function form with the binary log on: got %v, want 1305 (does not exist)", err)
				}
				if note := in.InstallNote(); !strings.Contains(note, "log_bin_trust_function_creators is OFF") {
					t.Errorf("note: %s", note)
				}
			case err != nil:
				t.Errorf("function form where the server allows it: %v", err)
			}
		})
	}
}

// TestFunctionForms: where the server allows functions that write
// (log_bin_trust_function_creators = ON), attach installs the SELECT
// forms too; attached again without it, it removes them and the
// procedures go on working.
func TestFunctionForms(t *testing.T) {
	in := open(t)
	t.Cleanup(func() { in.Close() }) // after the setting is restored
	ctx := t.Context()
	db := in.DB()
	logBin, trust := binlog(t, db)
	if logBin && !trust {
		// Global: attaches of other tests meanwhile get the forms too,
		// which they don't mind.
		if _, err := db.ExecContext(ctx, "SET GLOBAL log_bin_trust_function_creators = ON"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if _, err := db.ExecContext(context.Background(), "SET GLOBAL log_bin_trust_function_creators = OFF"); err != nil {
				t.Errorf("restore log_bin_trust_function_creators: %v", err)
			}
		})
	}
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if note := in.InstallNote(); !strings.Contains(note, "and their function forms") {
		t.Errorf("note: %s", note)
	}
	s := "`" + in.Schema() + "`"
	var id int64
	if err := db.QueryRowContext(ctx, "SELECT "+s+".upload_to_s3('b', '', '', 'DATA_PUMP_DIR')").Scan(&id); err != nil || id == 0 {
		t.Fatalf("SELECT upload_to_s3: %d, %v", id, err)
	}
	var lc string
	if err := db.QueryRowContext(ctx, "SELECT "+s+".cancel_task(?)", id).Scan(&lc); err != nil || lc != "CANCELLED" {
		t.Errorf("SELECT cancel_task: %q, %v", lc, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT "+s+".cancel_task(?)", id).Scan(&lc); err == nil || !strings.Contains(err.Error(), "CANCELLED: it cannot be cancelled") {
		t.Errorf("SELECT cancel_task of a cancelled task: %q, %v", lc, err)
	}
	calls(t, db, s)
	if !logBin {
		return
	}
	if _, err := db.ExecContext(ctx, "SET GLOBAL log_bin_trust_function_creators = OFF"); err != nil {
		t.Fatal(err)
	}
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatalf("attach again without log_bin_trust_function_creators: %v", err)
	}
	var me *mysql.MySQLError
	if _, err := db.ExecContext(ctx, "SELECT "+s+".upload_to_s3('b', '', '', 'DATA_PUMP_DIR')"); !errors.As(err, &me) || me.Number != 1305 {
		t.Errorf("function form after attach without the setting: %v, want 1305 (removed)", err)
	}
	calls(t, db, s)
	if err := in.Detach(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.routines WHERE routine_schema = ?", in.Schema()).Scan(&n); err != nil || n != 0 {
		t.Errorf("after detach: %d routines left (%v)", n, err)
	}
}
