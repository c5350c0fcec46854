package postgres_test

import (
	"database/sql"
	"net/url"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestGrants: calling the SQL interface needs the s3bridge_transfer role;
// an ungranted user gets PostgreSQL's permission error.
func TestGrants(t *testing.T) {
	in := open(t)
	if err := in.Attach(t.Context(), s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	admin := in.DB()
	granted, plain := testenv.Name("s3bg_"), testenv.Name("s3bp_")
	for _, q := range []string{
		`CREATE ROLE "` + granted + `" LOGIN PASSWORD 'pw'`, `CREATE ROLE "` + plain + `" LOGIN PASSWORD 'pw'`,
		`GRANT s3bridge_transfer TO "` + granted + `"`,
	} {
		if _, err := admin.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		root, err := sql.Open("pgx", testenv.PostgresAdminURL())
		if err != nil {
			return
		}
		defer root.Close()
		for _, r := range []string{granted, plain} {
			root.Exec(`DROP ROLE IF EXISTS "` + r + `"`)
		}
	})
	as := func(user string) *sql.DB {
		u, _ := url.Parse(testenv.PostgresAdminURL())
		u.User = url.UserPassword(user, "pw")
		u.Path = "/" + in.Name()
		db, err := sql.Open("pgx", u.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	var id int64
	if err := as(granted).QueryRowContext(t.Context(), `select s3bridge.gather_file_details()`).Scan(&id); err != nil {
		t.Fatalf("granted user: %v", err)
	}
	var lc string
	if err := as(granted).QueryRowContext(t.Context(), `select lifecycle from s3bridge.task_status(NULL, $1)`, id).Scan(&lc); err != nil || lc != "CREATED" {
		t.Errorf("granted user task_status: %q, %v", lc, err)
	}
	for _, q := range []string{`select s3bridge.gather_file_details()`, `select * from s3bridge.task_status(NULL, 0)`, `select count(*) from s3bridge.tasks`} {
		_, err := as(plain).ExecContext(t.Context(), q)
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("ungranted %s: got %v, want permission denied", q, err)
		}
	}
	if _, err := as(granted).ExecContext(t.Context(), `select count(*) from s3bridge.tasks`); err == nil {
		t.Error("a granted user read the tasks table directly; only the functions are granted")
	}
}
