package export_test

import (
	"strings"
	"testing"
)

// TestPostgresResultColumns: query_export_to_s3 returns the figures of the
// task's columns and raises its error code, whatever task_info says: a
// trigger here makes task_info lie about both.
func TestPostgresResultColumns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, dbNamed("postgres"))
	h.exec(dbNamed("postgres").table(10)...)
	h.serve()
	schema := `"` + h.in.(interface{ Schema() string }).Schema() + `"`
	h.exec(`CREATE FUNCTION lie() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
			IF NEW.lifecycle = 'SUCCESS' THEN
				NEW.task_info := 'exported 999 rows in 99 files (9 bytes) to s3://lie/lie';
			ELSIF NEW.lifecycle = 'ERROR' THEN
				NEW.task_info := 'SQLSTATE 42501 access denied: ' || NEW.task_info;
			END IF;
			RETURN NEW;
		END $$`,
		`CREATE TRIGGER lie BEFORE UPDATE ON `+schema+`.tasks FOR EACH ROW EXECUTE FUNCTION lie()`)
	ctx := t.Context()
	var rows, files, size int64
	must(t, h.db.QueryRowContext(ctx, `SELECT * FROM `+schema+`.query_export_to_s3('SELECT * FROM t ORDER BY id', $1, 'lie/t.csv', NULL, 'format csv')`,
		h.bucket).Scan(&rows, &files, &size))
	if body := h.get("lie/t.csv"); rows != 10 || files != 1 || size != int64(len(body)) {
		t.Errorf("query_export_to_s3: rows %d, files %d, bytes %d; want 10, 1, %d", rows, files, size, len(body))
	}
	var info string
	var cols [3]int64
	must(t, h.db.QueryRowContext(ctx, `SELECT task_info, rows_processed, files_processed, bytes_processed FROM `+schema+`.tasks
		WHERE task_id = $1`, h.lastTask()).Scan(&info, &cols[0], &cols[1], &cols[2]))
	if !strings.Contains(info, "999 rows") || cols != [3]int64{rows, files, size} {
		t.Errorf("task row: %q and columns %v; want the lie and %v", info, cols, [3]int64{rows, files, size})
	}
	_, err := h.db.ExecContext(ctx, `SELECT * FROM `+schema+`.query_export_to_s3('SELECT 10 / (id - 5) FROM t ORDER BY id', $1, 'lie/err', NULL, 'format csv')`, h.bucket)
	if sqlState(err) != "22012" || !strings.Contains(err.Error(), "access denied") {
		t.Errorf("a failed export whose task_info claims 42501: got %v, want SQLSTATE 22012 from its error code", err)
	}
}

// TestMariaDBResultColumns: select_into_outfile_s3 returns the figures of
// the task's columns and raises 42000 only when its error code says access
// was denied, whatever task_info says.
func TestMariaDBResultColumns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, dbNamed("mariadb"))
	h.exec(dbNamed("mariadb").table(10)...)
	h.serve()
	schema := "`" + h.in.(interface{ Schema() string }).Schema() + "`"
	h.exec("CREATE TRIGGER " + schema + ".`lie` BEFORE UPDATE ON " + schema + ".`tasks` FOR EACH ROW SET NEW.task_info = CASE NEW.lifecycle " +
		"WHEN 'SUCCESS' THEN 'exported 999 rows in 99 files (9 bytes) to s3://lie/lie' " +
		"WHEN 'ERROR' THEN CONCAT('access denied (42000): ', NEW.task_info) ELSE NEW.task_info END")
	ctx := t.Context()
	call := func(stmt string) (rows, files, size int64, err error) {
		err = h.db.QueryRowContext(ctx, "CALL "+schema+".select_into_outfile_s3(?)", stmt).Scan(&rows, &files, &size)
		return
	}
	rows, files, size, err := call("SELECT * FROM t ORDER BY id INTO OUTFILE S3 '" + h.uri("lie/t") + "' FORMAT CSV")
	must(t, err)
	if body := h.get("lie/t.part_00000"); rows != 10 || files != 1 || size != int64(len(body)) {
		t.Errorf("select_into_outfile_s3: rows %d, files %d, bytes %d; want 10, 1, %d", rows, files, size, len(body))
	}
	var info string
	must(t, h.db.QueryRowContext(ctx, "SELECT task_info FROM "+schema+".`tasks` WHERE task_id = ?", h.lastTask()).Scan(&info))
	if !strings.Contains(info, "999 rows") {
		t.Errorf("task_info %q: the trigger did not lie", info)
	}
	_, _, _, err = call("SELECT id, IF(id = 5, (SELECT x.id UNION SELECT x.id + 1), id) FROM t AS x ORDER BY id INTO OUTFILE S3 '" + h.uri("lie/err") + "'")
	if _, state := mariaErr(err); state != "HY000" || !strings.Contains(err.Error(), "access denied") {
		t.Errorf("a failed export whose task_info claims access was denied: got %v, want SQLSTATE HY000", err)
	}
}
