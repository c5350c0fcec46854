// Package testenv connects tests to the real services s3bridge talks to:
// MinIO, PostgreSQL and MariaDB on loopback. Each test gets its own bucket or
// database so tests can run in parallel. When a service can't be reached the
// test is skipped locally and fails under CI=true: in CI an integration test
// never skips.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// Unavailable ends a test whose service can't be reached: a failure under
// CI=true, a skip elsewhere.
func Unavailable(t testing.TB, service string, err error) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s unavailable under CI=true (integration tests never skip in CI): %v", service, err)
	}
	t.Skipf("%s unavailable (this would fail under CI=true): %v", service, err)
}

// InCI reports whether the tests run in CI.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// Name returns a fresh lower-case identifier with the given prefix, usable as
// a bucket, database or schema name.
func Name(prefix string) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return prefix + hex.EncodeToString(b)
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
