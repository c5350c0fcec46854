package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/go-sql-driver/mysql"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// runProxyCmd runs s3bridge proxy with args (its --listen chosen by the
// system) until the test ends, and returns the address it listens on.
func runProxyCmd(t *testing.T, vars map[string]string, args ...string) string {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		e := &env{stdout: io.Discard, stderr: pw, getenv: func(k string) string { return vars[k] }}
		err := run(ctx, e, append([]string{"proxy", "--listen", "127.0.0.1:0"}, args...))
		pw.CloseWithError(fmt.Errorf("proxy ended: %v", err))
		done <- err
	}()
	scanned := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy: %v", errorText(err))
		}
		<-scanned // no t.Logf after the test
	})
	addr := make(chan string, 1)
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "s3bridge proxy listening on "); ok {
				addr <- strings.TrimSuffix(strings.Fields(rest)[0], ",")
			} else {
				t.Logf("proxy: %s", sc.Text())
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("the proxy did not start")
		}
		return a
	case <-time.After(30 * time.Second):
		t.Fatal("the proxy did not say where it listens within 30 s")
	}
	return ""
}

// TestProxyAttachedInstance: s3bridge proxy --db applies the attached
// MariaDB instance's settings, policy and roles to the S3 statements. The
// proxy's environment has keys but no endpoint: MinIO is reached through
// the instance's settings. A user holding s3bridge_load and
// s3bridge_export loads and exports in the bucket the instance's policy
// allows; a user without them is refused with error 1370 and nothing is
// loaded or written; the policy refuses another bucket with error 1227.
func TestProxyAttachedInstance(t *testing.T) {
	m := testenv.S3(t)
	allowed, fenced := m.Bucket(t), m.Bucket(t)
	instURL := testenv.MariaDB(t)
	u, err := url.Parse(instURL)
	if err != nil {
		t.Fatal(err)
	}
	dbName, schema := strings.TrimPrefix(u.Path, "/"), u.Query().Get("s3bridge_schema")
	pol := filepath.Join(t.TempDir(), "policy.json")
	doc := fmt.Sprintf(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::%[1]s", "arn:aws:s3:::%[1]s/*"]}]}`, allowed)
	if err := os.WriteFile(pol, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	w := &cliWorld{t: t, vars: map[string]string{"AWS_ACCESS_KEY_ID": m.AccessKey, "AWS_SECRET_ACCESS_KEY": m.SecretKey, "AWS_REGION": m.Region}}
	w.must("attach", "--db", instURL, "--endpoint", m.Endpoint, "--auth", "basic", "--policy", pol, "--no-check")

	pass, _ := u.User.Password()
	admin, err := sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s)/%s", u.User.Username(), pass, u.Host, dbName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	role := testenv.Name("s3br_")
	allowedUser, deniedUser := testenv.Name("s3bpa_"), testenv.Name("s3bpd_")
	stmts := []string{
		"CREATE TABLE employees (ID INT PRIMARY KEY, NAME VARCHAR(40))",
		"CREATE ROLE `" + role + "`",
		"GRANT s3bridge_load TO `" + role + "`",
		"GRANT s3bridge_export TO `" + role + "`",
	}
	for _, user := range []string{allowedUser, deniedUser} {
		for _, host := range []string{"%", "localhost"} {
			acct := "'" + user + "'@'" + host + "'"
			stmts = append(stmts, "CREATE USER "+acct+" IDENTIFIED BY 'pw'", "GRANT ALL ON `"+dbName+"`.* TO "+acct)
			if user == allowedUser {
				stmts = append(stmts, "GRANT `"+role+"` TO "+acct, "SET DEFAULT ROLE `"+role+"` FOR "+acct)
			}
			t.Cleanup(func() { admin.Exec("DROP USER IF EXISTS " + acct) })
		}
	}
	t.Cleanup(func() { admin.Exec("DROP ROLE IF EXISTS `" + role + "`") })
	for _, q := range stmts {
		if _, err := admin.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s3c := m.Admin(t)
	for _, b := range []string{allowed, fenced} {
		if _, err := s3c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("e.csv"), Body: strings.NewReader("1,Ana\n2,Bo\n")}); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(bucket, key string) bool {
		_, err := s3c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		return err == nil
	}
	count := func() int {
		var n int
		if err := admin.QueryRowContext(t.Context(), "SELECT count(*) FROM employees").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	addr := runProxyCmd(t, w.vars, "--upstream", "mysql://"+u.Host, "--db", instURL)
	open := func(user string) *sql.DB {
		db, err := sql.Open("mysql", fmt.Sprintf("%s:pw@tcp(%s)/%s", user, addr, dbName))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	loadFrom := func(bucket string) string {
		return "LOAD DATA FROM S3 's3://" + bucket + "/e.csv' INTO TABLE employees FIELDS TERMINATED BY ','"
	}
	exportTo := func(bucket, prefix string) string {
		return "SELECT * FROM employees INTO OUTFILE S3 's3://" + bucket + "/" + prefix + "' FORMAT CSV"
	}
	wantErr := func(what string, err error, code uint16, state string, parts ...string) {
		t.Helper()
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != code || string(me.SQLState[:]) != state {
			t.Errorf("%s: %v, want error %d (%s)", what, err, code, state)
			return
		}
		for _, p := range parts {
			if !strings.Contains(me.Message, p) {
				t.Errorf("%s: %q, want %q in it", what, me.Message, p)
			}
		}
	}

	// (b) A user without the s3bridge roles: refused, nothing loaded or written.
	denied := open(deniedUser)
	_, err = denied.ExecContext(t.Context(), loadFrom(allowed))
	wantErr("load by a user without s3bridge_load", err, 1370, "42000",
		deniedUser+" may not run this S3 statement: it needs EXECUTE on "+schema+".load_data_from_s3")
	_, err = denied.ExecContext(t.Context(), exportTo(allowed, "denied/x"))
	wantErr("export by a user without s3bridge_export", err, 1370, "42000", "it needs EXECUTE on "+schema+".select_into_outfile_s3")
	if n := count(); n != 0 || exists(allowed, "denied/x.part_00000") {
		t.Errorf("refused statements left %d rows, object written: %v", n, exists(allowed, "denied/x.part_00000"))
	}

	// (a) A user with the roles, in the bucket the policy allows.
	ok := open(allowedUser)
	res, err := ok.ExecContext(t.Context(), loadFrom(allowed))
	if err != nil {
		t.Fatalf("load by a user with s3bridge_load: %v", err)
	}
	if n, _ := res.RowsAffected(); n != 2 || count() != 2 {
		t.Errorf("load: %d rows affected, %d in the table; want 2", n, count())
	}
	res, err = ok.ExecContext(t.Context(), exportTo(allowed, "out/x"))
	if err != nil {
		t.Fatalf("export by a user with s3bridge_export: %v", err)
	}
	if n, _ := res.RowsAffected(); n != 2 || !exists(allowed, "out/x.part_00000") {
		t.Errorf("export: %d rows, object written: %v", n, exists(allowed, "out/x.part_00000"))
	}

	// (c) The instance's policy: the other bucket is refused, though the
	// proxy's keys reach it.
	_, err = ok.ExecContext(t.Context(), loadFrom(fenced))
	wantErr("load from a bucket the policy does not allow", err, 1227, "42000", "s3:GetObject", fenced)
	_, err = ok.ExecContext(t.Context(), exportTo(fenced, "out/x"))
	wantErr("export to a bucket the policy does not allow", err, 1227, "42000", fenced)
	if n := count(); n != 2 || exists(fenced, "out/x.part_00000") {
		t.Errorf("after refusals by the policy: %d rows (want 2), object written: %v", n, exists(fenced, "out/x.part_00000"))
	}
}
