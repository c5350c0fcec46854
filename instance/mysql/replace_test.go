package mysql_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"github.com/s3bridge/s3bridge/instance/mysql"
)

// TestReplaceIsOneTransaction (issue 18, item 12): a replace on MariaDB
// deletes and loads in one transaction rather than swapping a shadow table
// in, so the table keeps its triggers and foreign keys and the database
// enforces them as for any DELETE and INSERT (a replace that would orphan
// rows of another table fails whole, naming the constraint); a row another
// session writes during the load is not lost; and a table whose engine has
// no transactions is refused rather than emptied early.
func TestReplaceIsOneTransaction(t *testing.T) {
	in := open(t)
	defer in.Close()
	ctx := t.Context()
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	db := in.DB()
	for _, q := range []string{
		`CREATE TABLE parent (id INT PRIMARY KEY, name TEXT) ENGINE=InnoDB`,
		`CREATE TABLE child (id INT PRIMARY KEY, parent_id INT, FOREIGN KEY (parent_id) REFERENCES parent (id)) ENGINE=InnoDB`,
		`CREATE TABLE audit (n INT)`,
		`CREATE TRIGGER child_ins AFTER INSERT ON child FOR EACH ROW INSERT INTO audit VALUES (NEW.id)`,
		`CREATE TABLE plain (id INT, name TEXT) ENGINE=MyISAM`,
		`CREATE TABLE solo (id INT PRIMARY KEY, name TEXT) ENGINE=InnoDB`,
		`INSERT INTO solo VALUES (1, 'old'), (2, 'old')`,
		`INSERT INTO parent VALUES (1, 'old'), (2, 'old')`,
		`INSERT INTO child VALUES (10, 1)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	load := func(table, body string) error {
		tx, err := in.Begin(ctx, bulk.Target{Table: table, Options: format.Options{Format: "csv"}, Replace: true})
		if err != nil {
			return err
		}
		if _, err := tx.Load(ctx, bulk.File{URI: "s3://b/x.csv", Key: "x.csv"}, strings.NewReader(body)); err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
			return err
		}
		return tx.Commit(ctx, s3bridge.Result{})
	}
	// Rows of parent are referenced by child: replacing them fails whole.
	if err := load("parent", "1,new\n3,new\n"); err == nil || !strings.Contains(err.Error(), "child_ibfk_1") {
		t.Errorf("a replace that would orphan child rows: got %v, want the foreign key's error", err)
	}
	if n := count(t, in, `SELECT count(*) FROM parent WHERE name = 'old'`); n != 2 {
		t.Errorf("after a refused replace: %d old rows, want 2", n)
	}
	// Replacing child fires its trigger for the loaded rows and keeps the
	// trigger and its foreign key, which still holds: a row pointing at
	// no parent fails the replace.
	if err := load("child", "11,2\n12,1\n"); err != nil {
		t.Fatalf("replace: %v", err)
	}
	if n := count(t, in, `SELECT count(*) FROM audit WHERE n IN (11, 12)`); n != 2 {
		t.Errorf("trigger fired for %d loaded rows, want 2", n)
	}
	if n := count(t, in, `SELECT count(*) FROM information_schema.triggers WHERE trigger_schema = DATABASE() AND trigger_name = 'child_ins'`); n != 1 {
		t.Error("the replace dropped the table's trigger")
	}
	if err := load("child", "13,99\n"); err == nil {
		t.Error("the foreign key of a replaced table no longer holds")
	}
	if n := count(t, in, `SELECT count(*) FROM child`); n != 2 {
		t.Errorf("after a refused replace of child: %d rows, want 2", n)
	}
	// A row written by another session during the load is kept: it waits
	// for the load's commit instead of landing in a table about to be
	// swapped away.
	tx, err := in.Begin(ctx, bulk.Target{Table: "solo", Options: format.Options{Format: "csv"}, Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Load(ctx, bulk.File{URI: "s3://b/y.csv", Key: "y.csv"}, strings.NewReader("1,newer\n2,newer\n")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := db.ExecContext(ctx, `INSERT INTO solo VALUES (7, 'concurrent')`)
		done <- err
	}()
	time.Sleep(200 * time.Millisecond) // give the concurrent insert time to queue behind the load
	if err := tx.Commit(ctx, s3bridge.Result{}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("concurrent insert: %v", err)
	}
	if n := count(t, in, `SELECT count(*) FROM solo WHERE id IN (1, 7)`); n != 2 {
		t.Errorf("after a replace with a concurrent insert: %d of rows 1 and 7, want both", n)
	}
	if _, err := in.Begin(ctx, bulk.Target{Table: "plain", Options: format.Options{Format: "csv"}, Replace: true}); err == nil || !strings.Contains(err.Error(), "transactional") {
		t.Errorf("replace of a MyISAM table: got %v, want a refusal naming the engine", err)
	}
}

func count(t *testing.T, in *mysql.Instance, q string) int {
	t.Helper()
	var n int
	if err := in.DB().QueryRowContext(t.Context(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestQueueIdleTimeout: the queue's transactions run with a 10 s idle
// limit, so an agent frozen inside a claim (holding the settings row)
// can't block the other agents' claims for as long as its connection
// lives.
func TestQueueIdleTimeout(t *testing.T) {
	in := open(t)
	defer in.Close()
	ctx := t.Context()
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	in.DB().SetMaxOpenConns(1) // the claim's connection is the one asked next
	if _, err := in.Claim(ctx, "a", time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := count(t, in, `SELECT @@session.idle_transaction_timeout`); n != 10 {
		t.Errorf("idle_transaction_timeout after a claim: %d, want 10", n)
	}
}
