package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

func TestParseUpstream(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t, "s3bridge test CA").File
	notPEM := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(notPEM, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	type want struct {
		addr          string
		tls, optional bool
		skip, withCA  bool
		serverName    string
	}
	tests := []struct {
		raw  string
		want want
		err  string // a part of the error; empty: no error
	}{
		{"mysql://db:3306", want{addr: "db:3306"}, ""},
		{"mariadb://db", want{addr: "db:3306"}, ""},
		{"mysql://[::1]:3307", want{addr: "[::1]:3307"}, ""},
		{"mysql://db:3306?tls=false", want{addr: "db:3306"}, ""},
		{"mysql://db:3306?tls=true", want{addr: "db:3306", tls: true, serverName: "db"}, ""},
		{"mysql://db?tls=skip-verify", want{addr: "db:3306", tls: true, skip: true}, ""},
		{"mysql://db?tls=preferred", want{addr: "db:3306", tls: true, optional: true, skip: true, serverName: "db"}, ""},
		{"mysql://db?tls=preferred&tls-ca=" + ca, want{addr: "db:3306", tls: true, optional: true, withCA: true, serverName: "db"}, ""},
		{"mysql://10.0.0.5?tls-ca=" + ca + "&tls-server-name=db.internal", want{addr: "10.0.0.5:3306", tls: true, withCA: true, serverName: "db.internal"}, ""},
		{"mysql://u:pw@db:3306", want{}, "no user or password"},
		{"postgres://db:5432", want{}, "want mysql://HOST:PORT"},
		{"mysql://db?tls=yes", want{}, `tls="yes"`},
		{"mysql://db?tls=skip-verify&tls-ca=" + ca, want{}, "verifies nothing"},
		{"mysql://db?tls-server-name=x", want{}, "need tls=true"},
		{"mysql://db?tls-ca=" + notPEM, want{}, "no PEM certificate"},
		{"mysql://db?tls-ca=" + filepath.Join(dir, "none.pem"), want{}, "tls-ca"},
		{"mysql://db?ssl=true", want{}, `unknown parameter "ssl"`},
		{"", want{}, "is required"},
	}
	for _, tt := range tests {
		up, err := parseUpstream(tt.raw)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseUpstream(%q): %v, want an error containing %q", tt.raw, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseUpstream(%q): %v", tt.raw, err)
			continue
		}
		got := want{addr: up.addr, tls: up.tls != nil, optional: up.tlsOptional}
		if up.tls != nil {
			got.skip, got.withCA, got.serverName = up.tls.InsecureSkipVerify, up.tls.RootCAs != nil, up.tls.ServerName
		}
		if got != tt.want {
			t.Errorf("parseUpstream(%q) = %+v, want %+v", tt.raw, got, tt.want)
		}
	}
}

// TestProxyUpstreamTLSURL: --upstream mysql://HOST:PORT?tls-ca=FILE makes
// the proxy reach a TLS-only account over verified TLS; the CA of another
// authority fails with the certificate problem named.
func TestProxyUpstreamTLSURL(t *testing.T) {
	srv := testenv.MariaDBTLS(t)
	user := testenv.Name("pxu_")
	if _, err := srv.Root.ExecContext(t.Context(), "CREATE USER '"+user+"'@'%' IDENTIFIED BY 'pw' REQUIRE SSL"); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, tt := range []struct {
		ca, want string
	}{
		{srv.CA.File, ""},
		{testenv.NewCA(t, "another CA").File, "certificate signed by unknown authority"},
	} {
		addr := runProxyCmd(t, vars, "--upstream", "mysql://"+srv.Host+"?tls-ca="+tt.ca)
		db, err := sql.Open("mysql", user+":pw@tcp("+addr+")/")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var name, cipher string
		err = db.QueryRowContext(t.Context(), "SHOW STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher)
		switch {
		case tt.want == "" && (err != nil || cipher == ""):
			t.Errorf("tls-ca=%s: Ssl_cipher %q, %v; want a cipher", tt.ca, cipher, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("tls-ca=%s: %v, want an error containing %q", tt.ca, err, tt.want)
		}
	}
}
