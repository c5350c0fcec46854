package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

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
	// A refusal for want of a privilege is SQLSTATE 42000, as MariaDB's
	// own; state "" is not checked.
	denied := []struct{ name, stmt, want, state string }{
		{"s3bridge's own settings", "LOAD DATA FROM S3 '" + uri + "' INTO TABLE `" + schema + "`.settings FIELDS TERMINATED BY ',' (name, value)", "access denied", "42000"},
		{"another table", "LOAD DATA FROM S3 '" + uri + "' INTO TABLE theirs FIELDS TERMINATED BY ',' (name, value)", "access denied", "42000"},
		{"REPLACE without DELETE", "LOAD DATA FROM S3 '" + uri + "' REPLACE INTO TABLE mine FIELDS TERMINATED BY ',' (name, value)", "access denied", "42000"},
		{"a subquery in SET", "LOAD DATA FROM S3 '" + uri + "' INTO TABLE mine FIELDS TERMINATED BY ',' (name, @v) SET value = (SELECT s FROM secret LIMIT 1)", "not allowed in a SET expression", ""},
		{"LOAD_FILE in SET", "LOAD DATA FROM S3 '" + uri + "' INTO TABLE mine FIELDS TERMINATED BY ',' (name, @v) SET value = LOAD_FILE('/etc/hostname')", "not allowed in a SET expression", ""},
	}
	for _, tc := range denied {
		err := call(tc.stmt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
		if state := sqlState(err); tc.state != "" && state != tc.state {
			t.Errorf("%s: SQLSTATE %q (%v), want %s", tc.name, state, err, tc.state)
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
	// account or a role is refused (TestMariaDBCallerIsTheSessionsAccount
	// tries harder).
	for _, forged := range []string{
		"CALL `" + schema + "`._load_enqueue('LOAD DATA FROM S3 ''" + uri + "'' INTO TABLE theirs', 'root@%', NULL, @s3b_id)",
		"INSERT INTO `" + schema + "`.requests (statement, caller) VALUES ('LOAD DATA FROM S3 ''" + uri + "'' INTO TABLE theirs', 'root@%')",
		"INSERT INTO `" + schema + "`.requests (statement, caller_role) VALUES ('LOAD DATA FROM S3 ''" + uri + "'' INTO TABLE theirs', 's3bridge_export')",
	} {
		if _, err := caller.ExecContext(t.Context(), forged); sqlState(err) != "42000" {
			t.Errorf("%s: got %v; want SQLSTATE 42000", forged, err)
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

// sqlState is the SQLSTATE of a MariaDB error, "" for another error or none.
func sqlState(err error) string {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return string(me.SQLState[:])
	}
	return ""
}

// clientIP is the address the MariaDB server sees the test connect from:
// an account defined for it (user@IP) is the one the server picks for the
// test's sessions, while USER() gives the host's name on a server that
// resolves names.
func clientIP(t *testing.T) string {
	t.Helper()
	c, err := net.Dial("tcp", testenv.MariaDBHost())
	if err != nil {
		t.Fatalf("dial %s: %v", testenv.MariaDBHost(), err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.TCPAddr).IP.String()
}

// mariaAccounts creates user@host for each host with its grants ({u} is
// the account) and returns one session as user (whose account is the most
// specific host that matches) on dbName.
func mariaAccounts(t *testing.T, admin *sql.DB, dbName string, grants map[string][]string) (*sql.DB, string) {
	t.Helper()
	user := testenv.Name("s3bu_")
	for host, gs := range grants {
		acct := "'" + user + "'@'" + host + "'"
		t.Cleanup(func() { admin.Exec("DROP USER IF EXISTS " + acct) })
		for _, q := range append([]string{"CREATE USER " + acct + " IDENTIFIED BY 'pw'"}, gs...) {
			q = strings.ReplaceAll(q, "{u}", acct)
			if _, err := admin.ExecContext(t.Context(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	db := openDB(t, "mysql", fmt.Sprintf("%s:pw@tcp(%s)/%s", user, testenv.MariaDBHost(), dbName))
	db.SetMaxOpenConns(1)
	return db, user
}

// TestMariaDBCallerIsTheSessionsAccount (issue 18, item 1): the account a
// load or an export runs as is the one the server picked for the session.
// A user logged in as u@<its IP>, whose u@% may write every table, can't
// have a load run as u@% by naming it to the enqueue routine (the audit's
// forgery, with the session kept open so that the agent would run the
// task) or by writing a request's identity; the table theirs stays
// untouched. And an account defined by IP address loads and exports, on a
// server that resolves names (where USER() gives the host's name).
//
// u@%'s right is global: MariaDB ties global privileges to the account,
// but looks database and table grants up by user name and host pattern,
// so u@%'s grant on theirs alone would let u@<IP>'s own session write it.
func TestMariaDBCallerIsTheSessionsAccount(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.MariaDB(t)
	w.mustCLI("attach", "--db", url)
	w.agent("--db", url, "--tick", "100ms")
	dbName, schema := mariaNames(t, url)
	ctx := t.Context()
	admin := openDB(t, "mysql", "root@tcp("+testenv.MariaDBHost()+")/"+dbName)
	for _, q := range []string{
		"CREATE TABLE mine (name VARCHAR(64), value VARCHAR(200))",
		"CREATE TABLE theirs (name VARCHAR(64), value VARCHAR(200))",
	} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	ip := clientIP(t)
	caller, user := mariaAccounts(t, admin, dbName, map[string][]string{
		ip: {"GRANT s3bridge_load TO {u}", "GRANT s3bridge_export TO {u}", "SET DEFAULT ROLE s3bridge_load FOR {u}",
			"GRANT SELECT, INSERT ON `" + dbName + "`.`mine` TO {u}"},
		"%": {"GRANT INSERT ON *.* TO {u}"},
	})
	if got, want := scalar[string](t, caller, "SELECT CURRENT_USER()"), user+"@"+ip; got != want {
		t.Fatalf("the session's account is %s, want %s", got, want)
	}
	if _, err := caller.ExecContext(ctx, "INSERT INTO theirs VALUES ('x', 'y')"); sqlState(err) != "42000" {
		t.Fatalf("the session itself inserts into theirs: %v; want it denied", err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rows.csv"), "area,/\n")
	putObject(t, w, "rows.csv", filepath.Join(dir, "rows.csv"))
	into := func(table string) string {
		return "LOAD DATA FROM S3 's3://" + w.bucket + "/rows.csv' INTO TABLE " + table + " FIELDS TERMINATED BY ',' (name, value)"
	}
	s := "`" + schema + "`"
	for _, forged := range []string{
		"CALL " + s + "._load_enqueue(" + quoteMaria(into("theirs")) + ", '" + user + "@%', NULL, @s3b_id)",
		"INSERT INTO " + s + ".requests (statement, caller) VALUES (" + quoteMaria(into("theirs")) + ", '" + user + "@%')",
		"CALL " + s + "._export_enqueue('SELECT * FROM theirs INTO OUTFILE S3 ''s3://" + w.bucket + "/x''', '" + user + "@%', NULL, @s3b_id)",
	} {
		if _, err := caller.ExecContext(ctx, forged); err == nil {
			t.Errorf("%s: accepted", forged)
		}
	}
	load := func(stmt string) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		rows, err := caller.QueryContext(ctx, "CALL "+s+".load_data_from_s3(?)", stmt)
		if err == nil {
			rows.Close()
		}
		return err
	}
	if err := load(into("theirs")); sqlState(err) != "42000" {
		t.Errorf("a load into theirs as %s@%s: got %v, want SQLSTATE 42000", user, ip, err)
	}
	// Whatever was queued has run before theirs is looked at.
	waitFor(t, "every task to end", time.Minute, func() bool {
		return scalar[int](t, admin, "SELECT count(*) FROM "+s+".tasks WHERE lifecycle NOT IN ('SUCCESS', 'ERROR', 'CANCELLED')") == 0
	})
	if n := scalar[int](t, admin, "SELECT count(*) FROM theirs"); n != 0 {
		t.Errorf("theirs has %d rows: a load ran as %s@%%", n, user)
	}

	if err := load(into("mine")); err != nil {
		t.Fatalf("a load by an account defined by IP address: %v", err)
	}
	if got := scalar[string](t, admin, "SELECT value FROM mine WHERE name = 'area'"); got != "/" {
		t.Errorf("loaded value %q, want /", got)
	}
	if _, err := caller.ExecContext(ctx, "SET ROLE s3bridge_export"); err != nil {
		t.Fatal(err)
	}
	var rows, files, size int64
	err := caller.QueryRowContext(ctx, "CALL "+s+".select_into_outfile_s3(?)", "SELECT * FROM mine INTO OUTFILE S3 's3://"+w.bucket+"/out/mine'").Scan(&rows, &files, &size)
	if err != nil || rows != 1 {
		t.Errorf("an export by an account defined by IP address: %d rows, %v; want 1 row", rows, err)
	}
}

// quoteMaria quotes s as a MariaDB string literal.
func quoteMaria(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// TestMariaDBConnectorHistoryIsTheCallers (issue 18, item 3):
// connector_history shows a user the connector runs it queued, as
// task_status does, not those of every user of the server.
func TestMariaDBConnectorHistoryIsTheCallers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.MariaDB(t)
	w.mustCLI("attach", "--db", url)
	dbName, schema := mariaNames(t, url)
	ctx := t.Context()
	s := "`" + schema + "`"
	admin := openDB(t, "mysql", "root@tcp("+testenv.MariaDBHost()+")/"+dbName)
	admin.SetMaxOpenConns(1)
	// No agent serves the instance: the runs stay queued, which is all
	// the history needs.
	if _, err := admin.ExecContext(ctx, "INSERT INTO "+s+".connectors (name, cron, table_name, config, task_metadata, created_at, updated_at) "+
		"VALUES ('events', '0 0 * * *', 't', '', '{\"table\": \"t\"}', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))"); err != nil {
		t.Fatal(err)
	}
	grants := []string{"GRANT s3bridge_load TO {u}", "SET DEFAULT ROLE s3bridge_load FOR {u}"}
	ann, _ := mariaUser(t, admin, "", grants...)
	bob, _ := mariaUser(t, admin, "", grants...)
	run := func(db *sql.DB) string {
		t.Helper()
		return column(t, db, "CALL "+s+".connector_run('events')")[0]
	}
	want := map[*sql.DB][]string{}
	for _, db := range []*sql.DB{ann, bob, ann, admin} {
		want[db] = append(want[db], run(db))
	}
	for name, db := range map[string]*sql.DB{"ann": ann, "bob": bob} {
		got := column(t, db, "SELECT JobID FROM "+s+".connector_history ORDER BY JobID")
		if !slices.Equal(got, want[db]) {
			t.Errorf("%s sees runs %v, want its own %v", name, got, want[db])
		}
	}
}
