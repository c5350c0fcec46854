package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/sqlite"
	"github.com/s3bridge/s3bridge/token"
)

// TestTokenCommands (issue 12): token create prints the token once, alone
// on stdout, and stores only its hash; list never shows it; a bad name,
// role or expiry is a usage error; a second token of a name is refused;
// revoke deletes it.
func TestTokenCommands(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite://" + filepath.Join(dir, "app.db")
	w := &cliWorld{t: t, vars: map[string]string{}}
	w.must("attach", "--db", db, "--area", dir)
	out, errOut, err := w.run("token", "create", "--db", db, "--name", "ci", "--role", "operator", "--expires", "90d")
	if err != nil {
		t.Fatal(errorText(err))
	}
	secret := strings.TrimSpace(out)
	if !strings.HasPrefix(secret, token.Prefix) || strings.Count(out, "\n") != 1 || strings.Contains(errOut, secret) {
		t.Fatalf("token create: stdout %q, stderr %q", out, errOut)
	}
	in, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	stored, err := in.TokenByHash(t.Context(), token.Hash(secret))
	if err != nil || stored.Name != "ci" || stored.Role != "operator" || stored.ExpiresAt == nil {
		t.Fatalf("stored token: %+v, %v", stored, err)
	}
	var n int
	if err := in.DB().QueryRowContext(t.Context(), `SELECT count(*) FROM "s3bridge_tokens" WHERE token_hash = ? OR name = ?`, secret, secret).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the token itself is stored (%d rows, %v)", n, err)
	}
	if list := w.must("token", "list", "--db", db); !strings.Contains(list, "ci") || !strings.Contains(list, "operator") || strings.Contains(list, secret) {
		t.Errorf("token list:\n%s", list)
	}
	for _, bad := range [][]string{
		{"--role", "viewer"},
		{"--name", "a b", "--role", "viewer"},
		{"--name", "x", "--role", "root"},
		{"--name", "x", "--role", "viewer", "--expires", "soon"},
	} {
		_, _, err := w.run(append([]string{"token", "create", "--db", db}, bad...)...)
		if exitCode(err) != exitUsage {
			t.Errorf("token create %v: exit %d (%v), want %d", bad, exitCode(err), errorText(err), exitUsage)
		}
	}
	if _, _, err := w.run("token", "create", "--db", db, "--name", "ci", "--role", "admin"); !errors.Is(err, s3bridge.ErrExists) {
		t.Errorf("a second token named ci: %v", errorText(err))
	}
	w.must("token", "revoke", "--db", db, "ci")
	if _, err := in.TokenByHash(t.Context(), token.Hash(secret)); !errors.Is(err, s3bridge.ErrNotFound) {
		t.Errorf("after revoke: %v", err)
	}
	if _, _, err := w.run("token", "revoke", "--db", db, "ci"); !errors.Is(err, s3bridge.ErrNotFound) || exitCode(err) != exitFailed {
		t.Errorf("revoke twice: %v", errorText(err))
	}
}
