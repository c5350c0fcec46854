package mysql_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
)

// TestResultColumnsAdded: attaching over an install that predates the
// result columns adds them, and the procedures' state functions read them.
func TestResultColumnsAdded(t *testing.T) {
	in := open(t)
	defer in.Close()
	ctx := t.Context()
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	s := "`" + in.Schema() + "`"
	q := "ALTER TABLE " + s + ".`tasks` DROP COLUMN rows_processed, DROP COLUMN files_processed, DROP COLUMN bytes_processed, DROP COLUMN error_code"
	if _, err := in.DB().ExecContext(ctx, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatalf("attach over the older install: %v", err)
	}
	id, err := in.Enqueue(ctx, s3bridge.Task{Type: s3bridge.TaskLoadFromS3})
	if err != nil {
		t.Fatal(err)
	}
	task, err := in.ClaimTask(ctx, id, "a", time.Minute)
	if err != nil || task == nil {
		t.Fatalf("claim: %v, %v", task, err)
	}
	if err := in.Finish(ctx, task.Claim(), s3bridge.Failed, s3bridge.Result{Info: "no", Files: 2, ErrorCode: s3bridge.CodeAccessDenied}); err != nil {
		t.Fatal(err)
	}
	conn, err := in.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "CALL "+s+".`_poll`(?, @s3b_state)", id); err != nil {
		t.Fatalf("_poll: %v", err)
	}
	for _, c := range []struct {
		fn, query string
		args      []any
	}{
		{"_task_state", "SELECT " + s + ".`_task_state`(?)", []any{id}},
		{"_poll", "SELECT @s3b_state", nil},
	} {
		var raw string
		if err := conn.QueryRowContext(ctx, c.query, c.args...).Scan(&raw); err != nil {
			t.Fatalf("%s: %v", c.fn, err)
		}
		var got struct {
			Files     int64  `json:"files"`
			ErrorCode string `json:"error_code"`
		}
		if err := json.Unmarshal([]byte(raw), &got); err != nil || got.Files != 2 || got.ErrorCode != s3bridge.CodeAccessDenied {
			t.Errorf("%s after the upgrade: %s (%v); want files 2, error_code %s", c.fn, raw, err, s3bridge.CodeAccessDenied)
		}
	}
}
