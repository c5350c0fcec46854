package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// mariaUser creates an account with the given grants for the test and
// returns a connection as it (one connection: the procedures need
// autocommit and their session).
func mariaUser(t *testing.T, admin *sql.DB, dbName string, grants ...string) (*sql.DB, string) {
	t.Helper()
	user := testenv.Name("s3bu_")
	stmts := []string{}
	for _, h := range []string{"%", "localhost"} {
		acct := "'" + user + "'@'" + h + "'"
		stmts = append(stmts, "CREATE USER "+acct+" IDENTIFIED BY 'pw'")
		for _, g := range grants {
			stmts = append(stmts, strings.ReplaceAll(g, "{u}", acct))
		}
	}
	for _, q := range stmts {
		if _, err := admin.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		for _, h := range []string{"%", "localhost"} {
			admin.Exec("DROP USER IF EXISTS '" + user + "'@'" + h + "'")
		}
	})
	u, _ := url.Parse(testenv.MariaDBAdminURL())
	db := openDB(t, "mysql", fmt.Sprintf("%s:pw@tcp(%s)/%s", user, u.Host, dbName))
	db.SetMaxOpenConns(1)
	return db, user
}

// TestMariaDBLoadRunsAsCaller (issue 18, items 1 and 3): a load asked for
// through CALL load_data_from_s3 writes only what the caller could write
// itself — not s3bridge's own settings, not another table, no REPLACE
// without DELETE, no SET expression that reads with the agent's rights —
// and the SQL interface shows a caller only its own tasks.
func TestMariaDBLoadRunsAsCaller(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.MariaDB(t)
	w.mustCLI("attach", "--db", url)
	w.agent("--db", url, "--tick", "100ms")
	dbName, schema := mariaNames(t, url)
	admin := openDB(t, "mysql", "root@tcp("+testenv.MariaDBHost()+")/"+dbName)
	for _, q := range []string{
		"CREATE TABLE mine (name VARCHAR(64), value VARCHAR(200))",
		"CREATE TABLE theirs (name VARCHAR(64), value VARCHAR(200))",
		"CREATE TABLE secret (s VARCHAR(64))",
		"INSERT INTO secret VALUES ('topsecret')",
	} {
		if _, err := admin.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	caller, _ := mariaUser(t, admin, dbName,
		"GRANT s3bridge_load TO {u}", "SET DEFAULT ROLE s3bridge_load FOR {u}",
		"GRANT SELECT, INSERT ON `"+dbName+"`.`mine` TO {u}")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "evil.csv"), "area,/\n")
	putObject(t, w, "evil.csv", filepath.Join(dir, "evil.csv"))
	uri := "s3://" + w.bucket + "/evil.csv"
	settingsBefore := scalar[string](t, admin, "SELECT value FROM `"+schema+"`.settings WHERE name = 'settings'")

	call := func(stmt string) error {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		rows, err := caller.QueryContext(ctx, "CALL `"+schema+"`.load_data_from_s3(?)", stmt)
		if err == nil {
			rows.Close()
		}
		return err
	}
	denied := []struct{ name, stmt, want string }{
		{"s3bridge's own settings", "LOAD DATA FROM S3 '" + uri + "' INTO TABLE `" + schema + "`.settings FIELDS TERMINATED BY ',' (name, value)", "access denied"},
		{"another table", "LOAD DATA FROM S3 '" + uri + "' INTO TABLE theirs FIELDS TERMINATED BY ',' (name, value)", "access denied"},
		{"REPLACE without DELETE", "LOAD DATA FROM S3 '" + uri + "' REPLACE INTO TABLE mine FIELDS TERMINATED BY ',' (name, value)", ""},
		{"a subquery in SET", "LOAD DATA FROM S3 '" + uri + "' INTO TABLE mine FIELDS TERMINATED BY ',' (name, @v) SET value = (SELECT s FROM secret LIMIT 1)", "not allowed in a SET expression"},
		{"LOAD_FILE in SET", "LOAD DATA FROM S3 '" + uri + "' INTO TABLE mine FIELDS TERMINATED BY ',' (name, @v) SET value = LOAD_FILE('/etc/hostname')", "not allowed in a SET expression"},
	}
	for _, tc := range denied {
		err := call(tc.stmt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if got := scalar[string](t, admin, "SELECT value FROM `"+schema+"`.settings WHERE name = 'settings'"); got != settingsBefore {
		t.Errorf("settings changed by a caller's load:\n%s\nwas\n%s", got, settingsBefore)
	}
	if n := scalar[int](t, admin, "SELECT count(*) FROM `"+schema+"`.settings"); n != 4 {
		t.Errorf("settings rows: %d, want the 4 attach wrote", n)
	}
	if n := scalar[int](t, admin, "SELECT count(*) FROM theirs") + scalar[int](t, admin, "SELECT count(*) FROM mine"); n != 0 {
		t.Errorf("%d rows landed from refused loads", n)
	}
	// The caller and its role come from the session: naming another
	// account or a role the caller does not hold is refused.
	for _, forged := range []string{"'root@%', NULL", "CURRENT_USER(), 's3bridge_export'"} {
		_, err := caller.ExecContext(t.Context(), "CALL `"+schema+"`._load_enqueue('LOAD DATA FROM S3 ''"+uri+"'' INTO TABLE theirs', "+forged+", @s3b_id)")
		if err == nil || !strings.Contains(err.Error(), "42000") {
			t.Errorf("_load_enqueue with %s: got %v; want SQLSTATE 42000", forged, err)
		}
	}
	// What the caller may do still works, SET included.
	if err := call("LOAD DATA FROM S3 '" + uri + "' INTO TABLE mine FIELDS TERMINATED BY ',' (name, @v) SET value = UPPER(@v)"); err != nil {
		t.Fatalf("a permitted load: %v", err)
	}
	if got := scalar[string](t, admin, "SELECT value FROM mine WHERE name = 'area'"); got != "/" {
		t.Errorf("permitted load: value %q, want /", got)
	}

	// Item 3: another user with the same role sees none of these tasks.
	other, _ := mariaUser(t, admin, "", "GRANT s3bridge_load TO {u}", "SET DEFAULT ROLE s3bridge_load FOR {u}")
	countTasks := func(db *sql.DB) int {
		rows, err := db.QueryContext(t.Context(), "CALL `"+schema+"`.task_status(NULL, 0)")
		if err != nil {
			t.Fatalf("task_status: %v", err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			n++
		}
		return n
	}
	if n := countTasks(caller); n != len(denied)+1 {
		t.Errorf("caller sees %d tasks, want its own %d", n, len(denied)+1)
	}
	if n := countTasks(other); n != 0 {
		t.Errorf("another user sees %d tasks of the caller, want 0", n)
	}
	var first int64
	if err := admin.QueryRowContext(t.Context(), "SELECT min(task_id) FROM `"+schema+"`.tasks").Scan(&first); err != nil {
		t.Fatal(err)
	}
	rows, err := other.QueryContext(t.Context(), "CALL `"+schema+"`.read_task_log(?)", first)
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("another user reads the caller's task log")
	}
	rows.Close()
	var lc string
	if err := other.QueryRowContext(t.Context(), "CALL `"+schema+"`.cancel_task(?)", first).Scan(&lc); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("another user cancels the caller's task: %q, %v; want not found", lc, err)
	}
}
