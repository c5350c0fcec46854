package mysql_test

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// clientIP is the address the MariaDB server sees this process connect
// from: an account defined for it (user@IP) is the one the server picks
// for the test's sessions, while USER() gives the host's name on a server
// that resolves names.
func clientIP(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(testenv.MariaDBAdminURL())
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatalf("dial %s: %v", u.Host, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.TCPAddr).IP.String()
}

// accounts creates user@host for each host with its grants ({u} is the
// account) and returns one session as user, whose account is the most
// specific host that matches.
func accounts(t *testing.T, admin *sql.DB, grants map[string][]string) (*sql.DB, string) {
	t.Helper()
	user := testenv.Name("s3bc_")
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
	u, _ := url.Parse(testenv.MariaDBAdminURL())
	db, err := sql.Open("mysql", fmt.Sprintf("%s:pw@tcp(%s)/", user, u.Host))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// One session: a request belongs to the session that made it.
	db.SetMaxOpenConns(1)
	return db, user
}

// TestCallerFromSession (issue 18, item 1): the caller a load or an export
// runs as is the account the server picked for the session, recorded by
// the server, never a value the caller passes. A user logged in as
// u@<its IP> can't have its request recorded as u@% (whose host pattern
// matches its own, and which may write other tables), by naming it to the
// enqueue routine, by writing the request's identity columns, or by
// taking over another session's request; and an account defined by IP
// address is recorded as such, where USER() gives the host's name.
func TestCallerFromSession(t *testing.T) {
	in := open(t)
	defer in.Close()
	ctx := t.Context()
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	admin := in.DB()
	s := "`" + in.Schema() + "`"
	ip := clientIP(t)
	caller, user := accounts(t, admin, map[string][]string{
		ip:  {"GRANT s3bridge_load TO {u}", "GRANT s3bridge_export TO {u}", "SET DEFAULT ROLE s3bridge_load FOR {u}"},
		"%": nil, // whose rights a forged caller would borrow
	})
	var account string
	if err := caller.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&account); err != nil {
		t.Fatal(err)
	}
	if want := user + "@" + ip; account != want {
		t.Fatalf("the session's account is %s, want %s", account, want)
	}

	refused := []struct{ name, q string }{
		{"naming u@% to _load_enqueue", "CALL " + s + "._load_enqueue('LOAD DATA FROM S3 ''s3://b/x'' INTO TABLE t', '" + user + "@%', NULL, @id)"},
		{"naming u@% to _export_enqueue", "CALL " + s + "._export_enqueue('SELECT 1 INTO OUTFILE S3 ''s3://b/x''', '" + user + "@%', NULL, @id)"},
		{"writing the caller column", "INSERT INTO " + s + ".requests (statement, caller) VALUES ('x', '" + user + "@%')"},
		{"writing the role column", "INSERT INTO " + s + ".requests (statement, caller_role) VALUES ('x', 's3bridge_transfer')"},
		{"writing the session column", "INSERT INTO " + s + ".requests (statement, caller_session) VALUES ('x', 1)"},
		{"changing a request", "UPDATE " + s + ".requests SET caller = '" + user + "@%'"},
		{"reading the requests", "SELECT count(*) FROM " + s + ".requests"},
	}
	for _, tc := range refused {
		if _, err := caller.ExecContext(ctx, tc.q); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}

	// Another session's request (here the administrator's) is not the
	// caller's to enqueue.
	res, err := admin.ExecContext(ctx, "INSERT INTO "+s+".requests (statement) VALUES ('LOAD DATA FROM S3 ''s3://b/x'' INTO TABLE t')")
	if err != nil {
		t.Fatal(err)
	}
	theirs, _ := res.LastInsertId()
	for _, r := range []struct{ routine, role string }{{"_load_enqueue", "s3bridge_load"}, {"_export_enqueue", "s3bridge_export"}} {
		if _, err := caller.ExecContext(ctx, "SET ROLE "+r.role); err != nil {
			t.Fatal(err)
		}
		_, err := caller.ExecContext(ctx, "CALL "+s+"."+r.routine+"(?, @id)", theirs)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || string(me.SQLState[:]) != "42000" || !strings.Contains(me.Message, "not one this session made") {
			t.Errorf("%s of another session's request: got %v, want SQLSTATE 42000", r.routine, err)
		}
	}
	if _, err := caller.ExecContext(ctx, "SET ROLE s3bridge_load"); err != nil {
		t.Fatal(err)
	}

	// The caller's own request is enqueued as the session's account and
	// role, once.
	conn, err := caller.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "INSERT INTO "+s+".requests (statement) VALUES ('LOAD DATA FROM S3 ''s3://b/x'' INTO TABLE t')"); err != nil {
		t.Fatalf("the caller's request: %v", err)
	}
	var id int64
	if _, err := conn.ExecContext(ctx, "CALL "+s+"._load_enqueue(LAST_INSERT_ID(), @id)"); err != nil {
		t.Fatalf("enqueue the caller's request: %v", err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT @id").Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "CALL "+s+"._load_enqueue(LAST_INSERT_ID(), @id)"); err == nil {
		t.Error("a request enqueued twice")
	}
	var meta string
	if err := admin.QueryRowContext(ctx, "SELECT task_metadata FROM "+s+".tasks WHERE task_id = ?", id).Scan(&meta); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Caller string `json:"caller"`
		Role   string `json:"caller_role"`
	}
	if err := json.Unmarshal([]byte(meta), &got); err != nil {
		t.Fatal(err)
	}
	if got.Caller != account || got.Role != "s3bridge_load" {
		t.Errorf("task %d runs as %s (role %q), want %s (role s3bridge_load)", id, got.Caller, got.Role, account)
	}
}

// TestReplaceWithoutDeleteDenied (issue 18, item 1): a caller's load that
// deletes rows — a replace of the table, or REPLACE of duplicate keys —
// into a table the caller may insert into but not delete from is refused
// as access denied (error code access_denied, SQLSTATE 42000 from SQL),
// not as a failure of the load statement (1356, HY000).
func TestReplaceWithoutDeleteDenied(t *testing.T) {
	in := open(t)
	defer in.Close()
	ctx := t.Context()
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	admin := in.DB()
	var dbName string
	if err := admin.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(ctx, "CREATE TABLE mine (id INT PRIMARY KEY, name TEXT) ENGINE=InnoDB"); err != nil {
		t.Fatal(err)
	}
	_, user := accounts(t, admin, map[string][]string{
		"%": {"GRANT s3bridge_load TO {u}", "SET DEFAULT ROLE s3bridge_load FOR {u}",
			"GRANT SELECT, INSERT ON `" + dbName + "`.`mine` TO {u}"},
	})
	csv := format.Options{Format: "csv"}
	for _, tc := range []struct {
		name   string
		target bulk.Target
		denied bool
	}{
		{"insert", bulk.Target{Options: csv}, false},
		{"a replace of the table", bulk.Target{Options: csv, Replace: true}, true},
		{"REPLACE of duplicates", bulk.Target{Options: csv, Duplicates: "REPLACE"}, true},
		{"a statement's REPLACE", bulk.Target{Statement: "LOAD DATA FROM S3 's3://b/x.csv' REPLACE INTO TABLE mine FIELDS TERMINATED BY ','"}, true},
		{"a statement's IGNORE", bulk.Target{Statement: "LOAD DATA FROM S3 's3://b/x.csv' IGNORE INTO TABLE mine FIELDS TERMINATED BY ','"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := tc.target
			target.Table, target.Caller, target.CallerRole = "mine", user+"@%", "s3bridge_load"
			tx, err := in.Begin(ctx, target)
			if err == nil {
				_, err = tx.Load(ctx, bulk.File{URI: "s3://b/x.csv", Key: "x.csv"}, strings.NewReader("1,ann\n"))
				tx.Rollback(ctx)
			}
			if got := errors.Is(err, s3bridge.ErrAccessDenied); got != tc.denied || (err != nil) != tc.denied {
				t.Errorf("got %v, want denied %v", err, tc.denied)
			}
			if code := s3bridge.ErrorCode(err); tc.denied && code != s3bridge.CodeAccessDenied {
				t.Errorf("error code %s, want %s", code, s3bridge.CodeAccessDenied)
			}
		})
	}
}
