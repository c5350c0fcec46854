package postgres_test

import (
	"database/sql"
	"testing"

	"github.com/s3bridge/s3bridge"

	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/instancetest"
	"github.com/s3bridge/s3bridge/instance/postgres"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

func open(t *testing.T) *postgres.Instance {
	t.Helper()
	in, err := postgres.Open(t.Context(), testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestConformance(t *testing.T) {
	instancetest.Run(t, func(t *testing.T) instance.Instance { return open(t) })
}

// TestStandardConformingStringsOff (issue 18, item 5): attach works on a
// database whose sessions have standard_conforming_strings off, and the
// installed functions still quote for the shell exactly (their bodies'
// literals hold backslashes).
func TestStandardConformingStringsOff(t *testing.T) {
	url := testenv.Postgres(t)
	admin, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(t.Context(), `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET standard_conforming_strings = off', current_database()); END $$`); err != nil {
		t.Fatal(err)
	}
	in, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := in.Attach(t.Context(), s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatalf("attach with standard_conforming_strings off: %v", err)
	}
	var scs, got string
	if err := in.DB().QueryRowContext(t.Context(), `SELECT current_setting('standard_conforming_strings'), s3bridge._sh(E'it''s \\ here')`).Scan(&scs, &got); err != nil {
		t.Fatal(err)
	}
	if scs != "off" {
		t.Fatalf("the session has standard_conforming_strings %s, want off for this test", scs)
	}
	if want := `'it'\''s \ here'`; got != want {
		t.Errorf("_sh under standard_conforming_strings off: got %s, want %s", got, want)
	}
}

// TestQueueIdleTimeout: a transaction of the queue's pool left idle (an
// agent frozen while it holds the settings row for a claim) is ended by
// the server, so other agents' claims go on.
func TestQueueIdleTimeout(t *testing.T) {
	in := open(t)
	defer in.Close()
	var got string
	if err := in.DB().QueryRowContext(t.Context(), `SELECT current_setting('idle_in_transaction_session_timeout')`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "10s" {
		t.Errorf("idle_in_transaction_session_timeout of the queue's pool: %s, want 10s", got)
	}
}
