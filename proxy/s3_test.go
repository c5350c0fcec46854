package proxy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

const employees = "CREATE TABLE employees (ID INT PRIMARY KEY, FIRSTNAME VARCHAR(40), LASTNAME VARCHAR(40), EMAIL VARCHAR(80), SALARY DECIMAL(10,2))"

// TestAuroraLoadExamples: the LOAD DATA FROM S3 examples of AWS's Aurora
// user guide (buckets renamed, s3:// for MinIO's single region), sent
// unchanged through the proxy by go-sql-driver: one object, a prefix, a
// manifest, a column list with @var and SET, LOAD XML.
func TestAuroraLoadExamples(t *testing.T) {
	h := newHarness(t)
	h.exec(employees)
	h.exec("CREATE TABLE table1 (column1 INT, column2 INT)")
	h.exec("CREATE TABLE CUSTOMER (ID INT PRIMARY KEY, FIRSTNAME VARCHAR(40), LASTNAME VARCHAR(40), EMAIL VARCHAR(80))")
	h.exec("CREATE TABLE store_staff (id INT PRIMARY KEY, name VARCHAR(40))")
	h.put("data.txt", "1,2\n3,4\n")
	h.put("employee_data/part1", "1,Ana,Lee,ana@example.com,10.50\n2,Bo,Wu,bo@example.com,20.25\n")
	h.put("employee_data/part2", "3,Cy,Ng,cy@example.com,30.00\n")
	h.put("customer1.csv", "10,Di,Ox,di@example.com\n")
	h.put("customer2.csv", "11,Ed,Po,ed@example.com\n")
	h.put("customer.manifest", fmt.Sprintf(`{"entries": [{"url":"s3://%[1]s/customer1.csv", "mandatory":true}, {"url":"s3://%[1]s/customer2.csv", "mandatory":true}, {"url":"s3://%[1]s/customer3.csv", "mandatory":false}]}`, h.bucket))
	h.put("staff.xml", `<list><employee><id>1</id><name>Ann</name></employee><employee id="2" name="Bob"/></list>`)
	db := h.open(h.proxy, "")
	b := h.bucket
	tests := []struct {
		sql   string
		rows  int64
		check string
		want  []string
	}{
		{"LOAD DATA FROM S3 's3://" + b + "/data.txt' INTO TABLE table1 FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n' (column1, @var1) SET column2 = @var1 * 100;",
			2, "SELECT column1, column2 FROM table1 ORDER BY 1", []string{"1|200", "3|400"}},
		{"LOAD DATA FROM S3 PREFIX 's3://" + b + "/employee_data' INTO TABLE employees FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n' (ID, FIRSTNAME, LASTNAME, EMAIL, SALARY);",
			3, "SELECT ID, LASTNAME, SALARY FROM employees ORDER BY 1", []string{"1|Lee|10.50", "2|Wu|20.25", "3|Ng|30.00"}},
		{"LOAD DATA FROM S3 MANIFEST 's3://" + b + "/customer.manifest' INTO TABLE CUSTOMER FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n' (ID, FIRSTNAME, LASTNAME, EMAIL);",
			2, "SELECT ID, EMAIL FROM CUSTOMER ORDER BY 1", []string{"10|di@example.com", "11|ed@example.com"}},
		{"LOAD XML FROM S3 's3://" + b + "/staff.xml' INTO TABLE store_staff ROWS IDENTIFIED BY '<employee>'",
			2, "SELECT id, name FROM store_staff ORDER BY 1", []string{"1|Ann", "2|Bob"}},
	}
	for _, tt := range tests {
		res, err := db.ExecContext(t.Context(), tt.sql)
		if err != nil {
			t.Fatalf("%s: %v", tt.sql, err)
		}
		if n, _ := res.RowsAffected(); n != tt.rows {
			t.Errorf("%s: %d rows affected, want %d", tt.sql, n, tt.rows)
		}
		if got := rows(t, h.admin, tt.check); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.sql, got, tt.want)
		}
	}
}

// TestLoadInTransaction: the load runs in the client's own transaction:
// rolled back, it leaves no rows; its rows are visible to the session
// before the commit and to others only after.
func TestLoadInTransaction(t *testing.T) {
	h := newHarness(t)
	h.exec(employees)
	uri := h.put("e.csv", "1,Ana,Lee,ana@example.com,1\n2,Bo,Wu,bo@example.com,2\n")
	db := h.open(h.proxy, "")
	load := "LOAD DATA FROM S3 '" + uri + "' INTO TABLE employees FIELDS TERMINATED BY ','"
	for _, end := range []string{"ROLLBACK", "COMMIT"} {
		tx, err := db.BeginTx(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(t.Context(), load); err != nil {
			t.Fatal(err)
		}
		if got := rows(t, tx, "SELECT count(*) FROM employees"); got[0] != "2" {
			t.Errorf("inside the transaction: %v rows, want 2", got)
		}
		if got := rows(t, h.admin, "SELECT count(*) FROM employees"); got[0] != "0" {
			t.Errorf("another session sees %v rows before the %s", got, end)
		}
		if end == "ROLLBACK" {
			err = tx.Rollback()
		} else {
			err = tx.Commit()
		}
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"ROLLBACK": "0", "COMMIT": "2"}[end]
		if got := rows(t, h.admin, "SELECT count(*) FROM employees"); got[0] != want {
			t.Errorf("after %s: %v rows, want %s", end, got, want)
		}
	}
}

// TestLoadErrors: a bad row fails the load with the server's own error
// (strict sql_mode) and nothing of it stays, in autocommit and inside a
// transaction, which goes on; a missing object, a missing table, a
// syntax error and a multi-statement batch are refused with an ERR the
// driver reads as such.
func TestLoadErrors(t *testing.T) {
	h := newHarness(t)
	h.exec(employees)
	h.exec("INSERT INTO employees (ID) VALUES (100)")
	bad := h.put("bad.csv", "1,Ana,Lee,a@x,1\nnotanumber,Bo,Wu,b@x,2\n")
	db := h.open(h.proxy, "multiStatements=true")
	load := "LOAD DATA FROM S3 '" + bad + "' INTO TABLE employees FIELDS TERMINATED BY ','"
	_, err := db.ExecContext(t.Context(), load)
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1366 || !strings.Contains(me.Message, "Incorrect integer value") {
		t.Errorf("bad row: %v, want MariaDB's error 1366", err)
	}
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(t.Context(), "INSERT INTO employees (ID) VALUES (101)"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(t.Context(), load); !errors.As(err, &me) || me.Number != 1366 {
		t.Errorf("bad row in a transaction: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, h.admin, "SELECT ID FROM employees ORDER BY 1"); !slices.Equal(got, []string{"100", "101"}) {
		t.Errorf("after failed loads: %v, want the earlier rows only", got)
	}
	dup := h.put("dup.csv", "100,X,Y,z@x,1\n")
	if _, err := db.ExecContext(t.Context(), "LOAD DATA FROM S3 '"+dup+"' INTO TABLE employees FIELDS TERMINATED BY ','"); !errors.As(err, &me) || me.Number != 1062 {
		t.Errorf("duplicate key: %v, want 1062", err)
	}
	if res, err := db.ExecContext(t.Context(), "LOAD DATA FROM S3 '"+dup+"' IGNORE INTO TABLE employees FIELDS TERMINATED BY ','"); err != nil {
		t.Errorf("IGNORE: %v", err)
	} else if n, _ := res.RowsAffected(); n != 0 {
		t.Errorf("IGNORE: %d rows affected", n)
	}
	for _, tt := range []struct {
		sql  string
		code uint16
		msg  string
	}{
		{"LOAD DATA FROM S3 's3://" + h.bucket + "/missing.csv' INTO TABLE employees", 1105, "missing.csv"},
		{"LOAD DATA FROM S3 '" + bad + "' INTO TABLE nosuchtable", 1146, "nosuchtable"},
		{"LOAD DATA FROM S3 '" + bad + "' INTO TABEL employees", 1064, "expected INTO TABLE"},
		{"SELECT 1; LOAD DATA FROM S3 '" + bad + "' INTO TABLE employees", 1235, "multi-statement"},
	} {
		_, err := db.ExecContext(t.Context(), tt.sql)
		if !errors.As(err, &me) || me.Number != tt.code || !strings.Contains(me.Message, tt.msg) {
			t.Errorf("%s: %v, want error %d mentioning %q", tt.sql, err, tt.code, tt.msg)
		}
	}
	// The session is still in step after every refusal.
	if got := rows(t, db, "SELECT 7"); !slices.Equal(got, []string{"7"}) {
		t.Errorf("after the errors: %v", got)
	}
}

// TestAuroraExportExamples: SELECT … INTO OUTFILE S3 as Aurora's guide
// writes it, through the proxy: TEXT with FIELDS/LINES, and FORMAT CSV
// HEADER with a manifest; affected rows are the rows written, an
// existing file without OVERWRITE is refused, and the query runs with
// the session's own view of its transaction.
func TestAuroraExportExamples(t *testing.T) {
	h := newHarness(t)
	h.exec(employees)
	h.exec("INSERT INTO employees VALUES (1,'Ana','Lee','ana@example.com',10.5),(2,'Bo','Wu',NULL,20.25)")
	db := h.open(h.proxy, "")
	b := h.bucket
	res, err := db.ExecContext(t.Context(), "SELECT * FROM employees INTO OUTFILE S3 's3://"+b+"/sample_employee_data' FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n';")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 2 {
		t.Errorf("export: %d rows affected, want 2", n)
	}
	if got, want := h.get("sample_employee_data.part_00000"), "1,Ana,Lee,ana@example.com,10.50\n2,Bo,Wu,\\N,20.25\n"; got != want {
		t.Errorf("text export: %q, want %q", got, want)
	}
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(t.Context(), "INSERT INTO employees VALUES (3,'Cy','Ng','cy@example.com',30)"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(t.Context(), "SELECT ID, FIRSTNAME FROM employees INTO OUTFILE S3 's3://"+b+"/csv/emp' FORMAT CSV HEADER MANIFEST ON OVERWRITE ON"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got, want := h.get("csv/emp.part_00000"), "ID,FIRSTNAME\n1,Ana\n2,Bo\n3,Cy\n"; got != want {
		t.Errorf("CSV export (with the transaction's own row): %q, want %q", got, want)
	}
	if m := h.get("csv/emp.manifest"); !strings.Contains(m, `"url":"s3://`+b+`/csv/emp.part_00000"`) {
		t.Errorf("manifest: %s", m)
	}
	_, err = db.ExecContext(t.Context(), "SELECT * FROM employees INTO OUTFILE S3 's3://"+b+"/sample_employee_data'")
	var me *mysql.MySQLError
	if !errors.As(err, &me) || !strings.Contains(me.Message, "OVERWRITE ON") {
		t.Errorf("export over an existing file: %v", err)
	}
	_, err = db.ExecContext(t.Context(), "SELECT nosuchcolumn FROM employees INTO OUTFILE S3 's3://"+b+"/x'")
	if !errors.As(err, &me) || me.Number != 1054 {
		t.Errorf("bad query: %v, want the server's 1054", err)
	}
	if got := rows(t, db, "SELECT count(*) FROM employees"); !slices.Equal(got, []string{"2"}) {
		t.Errorf("after the exports: %v", got)
	}
}
