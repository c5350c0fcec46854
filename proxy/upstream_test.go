package proxy

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/export"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/s3store"
)

// startProxy runs a proxy with cfg (its object stores on MinIO) until the
// test ends and returns its address.
func startProxy(t *testing.T, m testenv.MinIO, cfg Config) string {
	t.Helper()
	store, err := s3store.New(t.Context(), s3store.Config{Endpoint: m.Endpoint, Region: m.Region, AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Bridge = Bridge{
		Load:   s3bridge.Deps[load.ObjectStore]{Store: func(context.Context, s3bridge.Settings) (load.ObjectStore, error) { return store, nil }},
		Export: s3bridge.Deps[export.ObjectStore]{Store: func(context.Context, s3bridge.Settings) (export.ObjectStore, error) { return store, nil }},
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy: %v", err)
		}
	})
	return l.Addr().String()
}

// TestUpstreamTLS: against a MariaDB with TLS and a user created REQUIRE
// SSL, a client speaking plain text (or TLS) to the proxy logs in through
// the proxy's TLS to the server, runs queries and an Aurora LOAD DATA FROM
// S3 on that TLS session; without upstream TLS the same user gets the
// server's refusal; a server certificate from another CA fails with an
// error naming the certificate problem; a server without TLS is refused
// unless tls=preferred.
func TestUpstreamTLS(t *testing.T) {
	srv := testenv.MariaDBTLS(t)
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	db := testenv.Name("px_")
	user := testenv.Name("pxs_")
	for _, q := range []string{
		"CREATE DATABASE `" + db + "`",
		"CREATE TABLE `" + db + "`.employees (ID INT PRIMARY KEY, NAME VARCHAR(40))",
		"CREATE USER '" + user + "'@'%' IDENTIFIED BY 'pw' REQUIRE SSL",
		"GRANT ALL ON `" + db + "`.* TO '" + user + "'@'%'",
	} {
		if _, err := srv.Root.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	h := &harness{t: t, s3: m.Admin(t), bucket: bucket}
	uri := h.put("e.csv", "1,Ana\n2,Bo\n")
	open := func(addr, params string) *sql.DB {
		t.Helper()
		d, err := sql.Open("mysql", fmt.Sprintf("%s:pw@tcp(%s)/%s?%s", user, addr, db, params))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	var direct *mysql.MySQLError
	if err := open(srv.Host, "tls=false").PingContext(t.Context()); !errors.As(err, &direct) || direct.Number != 1045 {
		t.Fatalf("the REQUIRE SSL user without TLS, directly: %v, want the server's 1045", err)
	}

	verified := &tls.Config{RootCAs: srv.CA.Pool}
	tlsProxy := startProxy(t, m, Config{Upstream: srv.Host, UpstreamTLS: verified})
	c := open(tlsProxy, "tls=false") // plain text to the proxy, TLS beyond it
	var name, cipher string
	if err := c.QueryRowContext(t.Context(), "SHOW STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher); err != nil || cipher == "" {
		t.Fatalf("Ssl_cipher through the proxy: %q, %v; want the upstream session's cipher", cipher, err)
	}
	// The mariadb client, plain text to the proxy, likewise.
	bin, err := exec.LookPath("mariadb")
	if err != nil {
		t.Fatalf("the mariadb client is needed: %v", err)
	}
	host, port, _ := net.SplitHostPort(tlsProxy)
	out, err := exec.CommandContext(t.Context(), bin, "--protocol=tcp", "-h", host, "-P", port, "-u", user, "-ppw", "-N", "-B",
		"-e", "SHOW STATUS LIKE 'Ssl_cipher'; SELECT CURRENT_USER()").CombinedOutput()
	if got := string(out); err != nil || !strings.HasPrefix(got, "Ssl_cipher\t"+cipher+"\n") || !strings.Contains(got, user+"@%") {
		t.Errorf("mariadb client through the proxy: %v\n%s", err, out)
	}
	res, err := c.ExecContext(t.Context(), "LOAD DATA FROM S3 '"+uri+"' INTO TABLE employees FIELDS TERMINATED BY ','")
	if err != nil {
		t.Fatalf("LOAD DATA FROM S3 over upstream TLS: %v", err)
	}
	if n, _ := res.RowsAffected(); n != 2 {
		t.Errorf("LOAD DATA FROM S3: %d rows, want 2", n)
	}
	if got := rows(t, c, "SELECT ID, NAME FROM employees ORDER BY ID"); strings.Join(got, ",") != "1|Ana,2|Bo" {
		t.Errorf("rows loaded: %v", got)
	}
	if got := rows(t, c, "SELECT ? + 1", 41); len(got) != 1 || got[0] != "42" { // a prepared statement
		t.Errorf("prepared statement: %v", got)
	}

	// TLS on both hops: the client's to the proxy, the proxy's to the server.
	if err := mysql.RegisterTLSConfig("upstreamtest", &tls.Config{RootCAs: srv.CA.Pool, ServerName: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mysql.DeregisterTLSConfig("upstreamtest") })
	both := startProxy(t, m, Config{Upstream: srv.Host, UpstreamTLS: verified,
		TLS: &tls.Config{Certificates: []tls.Certificate{srv.CA.Certificate(t, "127.0.0.1")}}})
	if got := rows(t, open(both, "tls=upstreamtest"), "SELECT count(*) FROM employees"); got[0] != "2" {
		t.Errorf("TLS on both hops: %v", got)
	}

	// Without upstream TLS the server refuses the user, as it does directly.
	var refused *mysql.MySQLError
	plain := startProxy(t, m, Config{Upstream: srv.Host})
	if err := open(plain, "").PingContext(t.Context()); !errors.As(err, &refused) || *refused != *direct {
		t.Errorf("REQUIRE SSL user through a plain proxy: %v, want the server's own %v", err, direct)
	}

	// A server certificate that the configured CA didn't sign.
	other := testenv.NewCA(t, "another CA")
	wrong := startProxy(t, m, Config{Upstream: srv.Host, UpstreamTLS: &tls.Config{RootCAs: other.Pool}})
	err = open(wrong, "").PingContext(t.Context())
	if !errors.As(err, &refused) || refused.Number != 2026 || !strings.Contains(refused.Message, "TLS with the server "+srv.Host) ||
		!strings.Contains(refused.Message, "certificate signed by unknown authority") {
		t.Errorf("wrong CA: %v, want error 2026 naming the server and the certificate problem", err)
	}

	// A server without TLS: refused when TLS is asked for, reached in
	// plain text with tls=preferred.
	admin, err := url.Parse(testenv.MariaDBAdminURL())
	if err != nil {
		t.Fatal(err)
	}
	noTLS := admin.Host
	adminDSN := func(addr string) string {
		pass, _ := admin.User.Password()
		return fmt.Sprintf("%s:%s@tcp(%s)/", admin.User.Username(), pass, addr)
	}
	strict := startProxy(t, m, Config{Upstream: noTLS, UpstreamTLS: &tls.Config{InsecureSkipVerify: true}})
	d, err := sql.Open("mysql", adminDSN(strict))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.PingContext(t.Context()); err == nil || !strings.Contains(err.Error(), "does not offer TLS") {
		t.Errorf("a server without TLS, tls=true: %v, want a refusal saying it does not offer TLS", err)
	}
	preferred := startProxy(t, m, Config{Upstream: noTLS, UpstreamTLS: &tls.Config{InsecureSkipVerify: true}, UpstreamTLSOptional: true})
	p, err := sql.Open("mysql", adminDSN(preferred))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.PingContext(t.Context()); err != nil {
		t.Errorf("a server without TLS, tls=preferred: %v", err)
	}
}
