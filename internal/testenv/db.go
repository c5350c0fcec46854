package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // MariaDB admin connection
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL admin connection
)

// PostgresAdminURL is the server tests create their databases on.
func PostgresAdminURL() string {
	return env("S3BRIDGE_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
}

// MariaDBAdminURL is the server tests create their databases on: by
// default scripts/services.sh's MariaDB with the binary log on.
func MariaDBAdminURL() string {
	return env("S3BRIDGE_TEST_MARIADB", "mysql://root@127.0.0.1:3307/test")
}

// MariaDBHost is the host:port of MariaDBAdminURL, for tests that open
// their own connections.
func MariaDBHost() string {
	u, err := url.Parse(MariaDBAdminURL())
	if err != nil {
		return "127.0.0.1:3307"
	}
	return u.Host
}

// Postgres creates a fresh database for the test, dropped at cleanup, and
// returns its URL.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := PostgresAdminURL()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		Unavailable(t, "PostgreSQL", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		Unavailable(t, "PostgreSQL at "+redact(admin), err)
	}
	name := Name("s3b_")
	if _, err := db.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		db.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

// MariaDB creates a fresh database for the test's tables and returns the
// instance URL. The URL names a separate s3bridge schema (database) so tests
// don't share one; both are dropped at cleanup.
func MariaDB(t testing.TB) string {
	t.Helper()
	admin := MariaDBAdminURL()
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", redact(admin), err)
	}
	pass, _ := u.User.Password()
	dsn := fmt.Sprintf("%s:%s@tcp(%s)/", u.User.Username(), pass, u.Host)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		Unavailable(t, "MariaDB", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		Unavailable(t, "MariaDB at "+redact(admin), err)
	}
	name := Name("s3b_")
	schema := name + "_bridge"
	if _, err := db.ExecContext(ctx, "CREATE DATABASE `"+name+"`"); err != nil {
		db.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		defer db.Close()
		for _, n := range []string{name, schema} {
			if _, err := db.Exec("DROP DATABASE IF EXISTS `" + n + "`"); err != nil {
				t.Logf("drop database %s: %v", n, err)
			}
		}
	})
	u.Path = "/" + name
	q := u.Query()
	q.Set("s3bridge_schema", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
