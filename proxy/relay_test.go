package proxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"errors"
	"io"
	"math/big"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// TestWorkloadSameAsDirect runs a normal workload directly and through the
// proxy and compares every answer: queries, multi-statements, prepared
// statements (binary protocol), transactions, a client's own LOAD DATA
// LOCAL INFILE, a row larger than 16 MiB (continuation packets) and
// KILL QUERY.
func TestWorkloadSameAsDirect(t *testing.T) {
	h := newHarness(t)
	h.exec("CREATE TABLE w (id INT PRIMARY KEY, s VARCHAR(20), d DATETIME(3), f DOUBLE, b BLOB)")
	mysql.RegisterReaderHandler("proxytest", func() io.Reader { return strings.NewReader("1\tone\n2\ttwo\n") })
	t.Cleanup(func() { mysql.DeregisterReaderHandler("proxytest") })
	run := func(addr string) []string {
		db := h.open(addr, "multiStatements=true&parseTime=true")
		db.SetMaxOpenConns(1)
		ctx := t.Context()
		var out []string
		exec := func(q string, args ...any) {
			res, err := db.ExecContext(ctx, q, args...)
			if err != nil {
				out = append(out, "error: "+err.Error())
				return
			}
			n, _ := res.RowsAffected()
			id, _ := res.LastInsertId()
			out = append(out, q, time.Duration(n).String(), time.Duration(id).String())
		}
		exec("INSERT INTO w (id, s) VALUES (?, ?), (?, ?)", 10, "ten", 11, nil) // prepared
		exec("INSERT INTO w VALUES (12, 'x', '2024-01-02 03:04:05.678', 1.5, x'00ff'); UPDATE w SET s = 'y' WHERE id = 12")
		exec("LOAD DATA LOCAL INFILE 'Reader::proxytest' INTO TABLE w (id, s)")
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		tx.ExecContext(ctx, "INSERT INTO w (id) VALUES (99)")
		tx.Rollback()
		out = append(out, rows(t, db, "SELECT * FROM w ORDER BY id")...)
		out = append(out, rows(t, db, "SELECT id, s FROM w WHERE id > ? ORDER BY id", 1)...) // binary rows
		out = append(out, rows(t, db, "SELECT 1 AS a; SELECT 2 AS b")...)
		var big string
		if err := db.QueryRowContext(ctx, "SELECT REPEAT('a', 16777212)").Scan(&big); err != nil {
			out = append(out, "error: "+err.Error())
		}
		out = append(out, time.Duration(len(big)).String())
		_, err = db.ExecContext(ctx, "SELECT nosuch FROM w")
		out = append(out, "error: "+err.Error())
		return out
	}
	h.exec("DELETE FROM w")
	direct := run(h.server)
	h.exec("DELETE FROM w")
	proxied := run(h.proxy)
	if !slices.Equal(direct, proxied) {
		t.Errorf("answers differ\ndirect:  %q\nproxied: %q", direct, proxied)
	}
	if !slices.Contains(proxied, "2|two") || !slices.Contains(proxied, "16.777212ms") {
		t.Errorf("the workload did not do what it should: %q", proxied)
	}

	// KILL QUERY from a second connection stops a query running through
	// the proxy, and the killed session carries on.
	db := h.open(h.proxy, "")
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var id int64
	if err := conn.QueryRowContext(t.Context(), "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		var n int
		done <- conn.QueryRowContext(context.Background(), "SELECT SLEEP(30)").Scan(&n)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		h.admin.QueryRowContext(t.Context(), "SELECT count(*) FROM information_schema.processlist WHERE id = ? AND info LIKE 'SELECT SLEEP%'", id).Scan(&n)
		if n == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling the server's process list, with a deadline
	}
	if _, err := db.ExecContext(t.Context(), "KILL QUERY ?", id); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var me *mysql.MySQLError
		if err != nil && (!errors.As(err, &me) || me.Number != 1317) {
			t.Errorf("killed query: %v, want it interrupted", err)
		}
		var n int
		if err := conn.QueryRowContext(t.Context(), "SELECT 5").Scan(&n); err != nil || n != 5 {
			t.Errorf("after KILL QUERY the session must go on: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("KILL QUERY did not stop the query")
	}
}

// TestAuthAndUpstream: a wrong password gets the server's own error, and
// an unreachable server a clear one.
func TestAuthAndUpstream(t *testing.T) {
	h := newHarness(t)
	bad, err := sql.Open("mysql", strings.Replace(h.dsn(h.proxy, ""), h.pw, "wrong", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	var me *mysql.MySQLError
	if err := bad.PingContext(t.Context()); !errors.As(err, &me) || me.Number != 1045 {
		t.Errorf("wrong password: %v, want the server's 1045", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	down := newHarnessWith(t, func(c *Config) { c.Upstream = dead })
	db, err := sql.Open("mysql", down.dsn(down.proxy, "timeout=5s"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(t.Context()); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("server down: %v, want an error saying it is unreachable", err)
	}
}

// TestMariaDBClient: the mariadb command-line client through the proxy:
// Aurora's statements as a script, and its own LOCAL INFILE.
func TestMariaDBClient(t *testing.T) {
	bin, err := exec.LookPath("mariadb")
	if err != nil {
		t.Fatalf("the mariadb client is needed: %v", err)
	}
	h := newHarness(t)
	h.exec(employees)
	uri := h.put("e.csv", "ID,FIRSTNAME,LASTNAME,EMAIL,SALARY\n1,Ana,Lee,ana@example.com,1\n2,Bo,Wu,bo@example.com,2\n")
	local := t.TempDir() + "/local.csv"
	if err := exec.Command("sh", "-c", "printf '7,Gil,Ma,g@x,7\\n' > "+local).Run(); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(h.proxy)
	script := "LOAD DATA FROM S3 '" + uri + "' INTO TABLE employees FIELDS TERMINATED BY ',' IGNORE 1 LINES;\n" +
		"LOAD DATA LOCAL INFILE '" + local + "' INTO TABLE employees FIELDS TERMINATED BY ',';\n" +
		"SELECT ID, LASTNAME FROM employees ORDER BY ID;\n" +
		"SELECT * FROM employees INTO OUTFILE S3 's3://" + h.bucket + "/cli/out' FORMAT CSV HEADER MANIFEST ON;\n"
	cmd := exec.CommandContext(t.Context(), bin, "--protocol=tcp", "-h", host, "-P", port, "-u", h.user, "-p"+h.pw, "--local-infile=1", "-N", "-B", h.db)
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb: %v\n%s", err, out)
	}
	if got, want := string(out), "1\tLee\n2\tWu\n7\tMa\n"; got != want {
		t.Errorf("mariadb printed %q, want %q", got, want)
	}
	if got := h.get("cli/out.part_00000"); !strings.HasPrefix(got, "ID,FIRSTNAME,LASTNAME,EMAIL,SALARY\n1,Ana,") {
		t.Errorf("export from the client: %q", got)
	}
	if !slices.Contains(h.keys(), "cli/out.manifest") {
		t.Errorf("no manifest: %v", h.keys())
	}
}

// TestTLSTermination: with a certificate the proxy offers TLS to clients
// and relays to the server in plain text; authentication and S3
// statements work over it.
func TestTLSTermination(t *testing.T) {
	cert := selfSigned(t)
	h := newHarnessWith(t, func(c *Config) {
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	})
	h.exec(employees)
	uri := h.put("e.csv", "1,Ana,Lee,a@x,1\n")
	if err := mysql.RegisterTLSConfig("proxytest", &tls.Config{InsecureSkipVerify: true}); err != nil {
		t.Fatal(err)
	}
	db := h.open(h.proxy, "tls=proxytest")
	if _, err := db.ExecContext(t.Context(), "LOAD DATA FROM S3 '"+uri+"' INTO TABLE employees FIELDS TERMINATED BY ','"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM employees").Scan(&n); err != nil || n != 1 {
		t.Errorf("over TLS: %d rows, %v", n, err)
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
