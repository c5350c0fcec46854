package postgres_test

import (
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
)

// TestResultColumnsAdded: attaching over an install that predates the
// result columns (and _export_poll's wider result) adds them.
func TestResultColumnsAdded(t *testing.T) {
	in := open(t)
	defer in.Close()
	ctx := t.Context()
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	s := `"` + in.Schema() + `"`
	for _, q := range []string{
		// An install from before the result columns had no view over them.
		`DROP VIEW ` + s + `.connector_history`,
		`ALTER TABLE ` + s + `.tasks DROP COLUMN rows_processed, DROP COLUMN files_processed, DROP COLUMN bytes_processed, DROP COLUMN error_code`,
		`DROP FUNCTION ` + s + `._export_poll(bigint)`,
		`CREATE FUNCTION ` + s + `._export_poll(p_task_id bigint, OUT lifecycle text, OUT task_info text) LANGUAGE sql AS $$ SELECT 'x', 'y' $$`,
	} {
		if _, err := in.DB().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatalf("attach over the older install: %v", err)
	}
	id, err := in.Enqueue(ctx, s3bridge.Task{Type: s3bridge.TaskExportToS3})
	if err != nil {
		t.Fatal(err)
	}
	task, err := in.ClaimTask(ctx, id, "a", time.Minute)
	if err != nil || task == nil {
		t.Fatalf("claim: %v, %v", task, err)
	}
	if err := in.Finish(ctx, task.Claim(), s3bridge.Failed, s3bridge.Result{Info: "no", Rows: 4, ErrorCode: "22012"}); err != nil {
		t.Fatal(err)
	}
	var rows int64
	var code string
	if err := in.DB().QueryRowContext(ctx, `SELECT rows_processed, error_code FROM `+s+`._export_poll($1)`, id).Scan(&rows, &code); err != nil || rows != 4 || code != "22012" {
		t.Errorf("_export_poll after the upgrade: rows %d, code %q, %v; want 4, 22012", rows, code, err)
	}
}
