package mysql_test

import (
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestGrants: calling the SQL interface needs the s3bridge_transfer role
// (or EXECUTE); an ungranted user gets MariaDB's "execute command denied".
func TestGrants(t *testing.T) {
	in := open(t)
	if err := in.Attach(t.Context(), s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	admin := in.DB()
	granted, plain := testenv.Name("s3bg_"), testenv.Name("s3bp_")
	for _, q := range []string{
		"CREATE USER '" + granted + "'@'%' IDENTIFIED BY 'pw'", "CREATE USER '" + plain + "'@'%' IDENTIFIED BY 'pw'",
		"CREATE USER '" + granted + "'@'localhost' IDENTIFIED BY 'pw'", "CREATE USER '" + plain + "'@'localhost' IDENTIFIED BY 'pw'",
		"GRANT s3bridge_transfer TO '" + granted + "'@'%'", "GRANT s3bridge_transfer TO '" + granted + "'@'localhost'",
		"SET DEFAULT ROLE s3bridge_transfer FOR '" + granted + "'@'%'", "SET DEFAULT ROLE s3bridge_transfer FOR '" + granted + "'@'localhost'",
	} {
		if _, err := admin.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		for _, u := range []string{granted, plain} {
			for _, h := range []string{"%", "localhost"} {
				admin.Exec("DROP USER IF EXISTS '" + u + "'@'" + h + "'")
			}
		}
	})
	u, _ := url.Parse(testenv.MariaDBAdminURL())
	as := func(user string) *sql.DB {
		db, err := sql.Open("mysql", fmt.Sprintf("%s:pw@tcp(%s)/", user, u.Host))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	s := "`" + in.Schema() + "`"
	var id int64
	if err := as(granted).QueryRowContext(t.Context(), "call "+s+".gather_file_details()").Scan(&id); err != nil {
		t.Fatalf("granted user: %v", err)
	}
	rows, err := as(granted).QueryContext(t.Context(), "call "+s+".task_status(NULL, ?)", id)
	if err != nil {
		t.Fatalf("granted user task_status: %v", err)
	}
	rows.Close()
	for _, q := range []string{"call " + s + ".gather_file_details()", "call " + s + ".task_status(NULL, 0)", "select count(*) from " + s + ".tasks"} {
		_, err := as(plain).ExecContext(t.Context(), q)
		if err == nil || !(strings.Contains(err.Error(), "denied")) {
			t.Errorf("ungranted %s: got %v, want a denial", q, err)
		}
	}
}
