package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// CA is a certificate authority made for a test.
type CA struct {
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// File is the CA certificate in PEM, in the test's temporary directory.
	File string
	// Pool holds the CA certificate alone.
	Pool *x509.CertPool
}

// NewCA makes a certificate authority named name, valid for an hour.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial(t), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &CA{Cert: cert, key: key, File: filepath.Join(t.TempDir(), "ca.pem"), Pool: x509.NewCertPool()}
	ca.Pool.AddCert(cert)
	writePEM(t, ca.File, "CERTIFICATE", der)
	return ca
}

// Issue makes a server certificate for the given host names and IP
// addresses, signed by ca, and writes it and its key as PEM files in dir.
func (ca *CA) Issue(t testing.TB, dir string, hosts ...string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial(t), Subject: pkix.Name{CommonName: hosts[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "server-cert.pem"), filepath.Join(dir, "server-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", kder)
	return certFile, keyFile
}

// Certificate is a tls.Certificate issued by ca for hosts, for a Go
// server of the test's.
func (ca *CA) Certificate(t testing.TB, hosts ...string) tls.Certificate {
	t.Helper()
	certFile, keyFile := ca.Issue(t, t.TempDir(), hosts...)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func serial(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TLSMariaDB is a throw-away MariaDB that speaks TLS with a certificate
// for 127.0.0.1 issued by CA. Root has no password there (from loopback).
type TLSMariaDB struct {
	// Host is the server's host:port.
	Host string
	CA   *CA
	// Root is a connection as root, in plain text.
	Root *sql.DB
}

// MariaDBTLS starts a MariaDB of the test's own in a temporary directory,
// with --ssl-cert, --ssl-key and --ssl-ca made for it; it is stopped and
// removed at cleanup. Without mariadbd the test skips (fails under CI).
func MariaDBTLS(t testing.TB) *TLSMariaDB {
	t.Helper()
	ca := NewCA(t, "s3bridge test CA")
	dir := t.TempDir()
	certFile, keyFile := ca.Issue(t, dir, "127.0.0.1", "localhost")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	host, err := startPrivateMariaDB(t, ctx, "--ssl-cert="+certFile, "--ssl-key="+keyFile, "--ssl-ca="+ca.File)
	if err != nil {
		Unavailable(t, "a private MariaDB server", err)
	}
	root, err := sql.Open("mysql", "root@tcp("+host+")/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	var cipher string
	if err := root.QueryRowContext(ctx, "SELECT @@have_ssl").Scan(&cipher); err != nil || cipher != "YES" {
		t.Fatalf("MariaDB on %s: have_ssl = %q (%v), want YES", host, cipher, err)
	}
	return &TLSMariaDB{Host: host, CA: ca, Root: root}
}

// startPrivateMariaDB runs mariadb-install-db and mariadbd, with extra
// options, in a temporary directory on a free loopback port, and returns
// its host:port once it answers. (startMariaDB in replica.go is the same
// with a replica's options.)
func startPrivateMariaDB(t testing.TB, ctx context.Context, extra ...string) (string, error) {
	t.Helper()
	daemon, err := lookPath("mariadbd", "/usr/sbin/mariadbd")
	if err != nil {
		return "", err
	}
	install, err := lookPath("mariadb-install-db", "/usr/bin/mariadb-install-db")
	if err != nil {
		return "", err
	}
	me, err := user.Current()
	if err != nil {
		return "", err
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	out, err := exec.CommandContext(ctx, install, "--no-defaults", "--datadir="+data, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--user="+me.Username).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("mariadb-install-db: %w: %s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	args := append([]string{"--no-defaults", "--user=" + me.Username, "--datadir=" + data, "--port=" + strconv.Itoa(port),
		"--bind-address=127.0.0.1", "--socket=" + filepath.Join(dir, "mysqld.sock"), "--pid-file=" + filepath.Join(dir, "mysqld.pid"),
		"--log-error=" + filepath.Join(dir, "error.log"), "--innodb-buffer-pool-size=32M", "--skip-log-bin",
		"--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci"}, extra...)
	cmd := exec.Command(daemon, args...)
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start mariadbd: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	host := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	db, err := sql.Open("mysql", "root@tcp("+host+")/")
	if err != nil {
		return "", err
	}
	defer db.Close()
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return "", fmt.Errorf("mariadbd exited: %v: %s", err, log)
		case <-ctx.Done():
			return "", fmt.Errorf("mariadbd on %s did not answer: %w", host, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if db.PingContext(ctx) == nil {
			return host, nil
		}
	}
}
