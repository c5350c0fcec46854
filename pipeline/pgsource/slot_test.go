package pgsource

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/pipeline"
)

// TestConfirmIsDurableNotReceived reads three transactions, confirms only
// the first, and checks that the slot advanced to exactly that position
// (status updates and keepalive replies never report what was merely
// received) and that a restart from it replays the other two.
func TestConfirmIsDurableNotReceived(t *testing.T) {
	e := newEnv(t, `CREATE TABLE t (id int PRIMARY KEY)`)
	slot := e.create(Publication{Tables: []Table{{Schema: "public", Name: "t"}}})
	for i := 1; i <= 3; i++ {
		e.exec(`INSERT INTO t VALUES ($1)`, i)
	}
	// A short status interval so several periodic updates go out while
	// the stream sits on received-but-unconfirmed transactions.
	st := e.stream(StreamOptions{Start: slot.ConsistentPoint, StatusInterval: 50 * time.Millisecond})
	var txs []*pipeline.Tx
	for range 3 {
		tx, _ := readTx(t, st)
		txs = append(txs, tx)
	}
	// Nothing confirmed yet: periodic updates report the start position.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	if _, err := st.Next(ctx); err == nil {
		t.Fatal("unexpected event")
	}
	cancel()
	if got := e.confirmedFlush(); got != slot.ConsistentPoint {
		t.Fatalf("confirmed_flush_lsn %s moved past the start %s without a Confirm", got, slot.ConsistentPoint)
	}
	st.Confirm(txs[0].EndLSN)
	st.Confirm(txs[0].CommitLSN) // never backwards
	if st.Durable() != txs[0].EndLSN {
		t.Fatalf("durable %s", st.Durable())
	}
	ctx, cancel = context.WithTimeout(t.Context(), 300*time.Millisecond)
	st.Next(ctx) // sends the periodic update
	cancel()
	e.waitConfirmed(txs[0].EndLSN)
	if err := st.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := e.confirmedFlush(); got != txs[0].EndLSN {
		t.Fatalf("after close confirmed_flush_lsn %s, want %s (received up to %s)", got, txs[0].EndLSN, txs[2].EndLSN)
	}

	st2 := e.stream(StreamOptions{Start: txs[0].EndLSN})
	for i := 2; i <= 3; i++ {
		tx, _ := readTx(t, st2)
		if got := tx.Changes[0].After[0]; got != int32(i) || tx.CommitLSN != txs[i-1].CommitLSN {
			t.Errorf("replayed id %v at %s, want %d at %s", got, tx.CommitLSN, i, txs[i-1].CommitLSN)
		}
	}
	// Start zero means the slot's confirmed position.
	st2.Close(t.Context())
	st3 := e.stream(StreamOptions{})
	if st3.Start() != txs[0].EndLSN {
		t.Errorf("zero start resolved to %s", st3.Start())
	}
	tx, _ := readTx(t, st3)
	if tx.Changes[0].After[0] != int32(2) {
		t.Errorf("zero start replayed %v first", tx.Changes[0].After[0])
	}
}

// TestStartBehindSlotFails asks for a start before confirmed_flush_lsn: an
// error naming both positions, never a silent skip.
func TestStartBehindSlotFails(t *testing.T) {
	e := newEnv(t, `CREATE TABLE t (id int PRIMARY KEY)`)
	slot := e.create(Publication{Tables: []Table{{Schema: "public", Name: "t"}}})
	e.exec(`INSERT INTO t VALUES (1)`)
	e.exec(`INSERT INTO t VALUES (2)`)
	st := e.stream(StreamOptions{Start: slot.ConsistentPoint})
	readTx(t, st)
	tx2, _ := readTx(t, st)
	st.Confirm(tx2.EndLSN)
	if err := st.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.waitConfirmed(tx2.EndLSN)
	_, err := e.src.Stream(t.Context(), StreamOptions{Start: slot.ConsistentPoint})
	var behind *BehindSlotError
	if !errors.As(err, &behind) || behind.Start != slot.ConsistentPoint || behind.Confirmed != tx2.EndLSN {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), tx2.EndLSN.String()) {
		t.Errorf("error doesn't name the slot position: %v", err)
	}
}

// TestDroppedSlotDetected drops the slot behind the pipeline's back, and
// recreates it: streaming fails with ErrSlotMissing, then with a
// BehindSlotError (DBZ-5739).
func TestDroppedSlotDetected(t *testing.T) {
	e := newEnv(t, `CREATE TABLE t (id int PRIMARY KEY)`)
	slot := e.create(Publication{Tables: []Table{{Schema: "public", Name: "t"}}})
	e.exec(`SELECT pg_drop_replication_slot($1)`, e.src.SlotName())
	_, err := e.src.Stream(t.Context(), StreamOptions{Start: slot.ConsistentPoint})
	if !errors.Is(err, ErrSlotMissing) {
		t.Fatalf("err = %v, want ErrSlotMissing", err)
	}
	e.exec(`INSERT INTO t VALUES (1)`)
	e.exec(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, e.src.SlotName())
	_, err = e.src.Stream(t.Context(), StreamOptions{Start: slot.ConsistentPoint})
	if !isBehind(err) {
		t.Fatalf("recreated slot: err = %v, want BehindSlotError", err)
	}
	if _, err := e.src.Create(t.Context(), Publication{Tables: []Table{{Schema: "public", Name: "t"}}}); !errors.Is(err, ErrSlotExists) {
		t.Fatalf("Create over an existing slot: %v", err)
	}
}

// TestExportedSnapshot reads the table under the slot's exported snapshot
// and streams from its consistent point: every row is in exactly one of
// the two.
func TestExportedSnapshot(t *testing.T) {
	e := newEnv(t, `CREATE TABLE t (id int PRIMARY KEY)`, `INSERT INTO t SELECT generate_series(1, 10)`)
	slot, err := e.src.Create(t.Context(), Publication{AllTables: true})
	if err != nil {
		t.Fatal(err)
	}
	e.exec(`INSERT INTO t VALUES (11)`)
	e.exec(`DELETE FROM t WHERE id = 1`)
	reader, err := pgx.Connect(t.Context(), e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close(t.Context())
	tx, err := reader.BeginTx(t.Context(), pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), `SET TRANSACTION SNAPSHOT '`+slot.SnapshotName+`'`); err != nil {
		t.Fatal(err)
	}
	if err := slot.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	var n, sum int
	if err := tx.QueryRow(t.Context(), `SELECT count(*), sum(id) FROM t`).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	tx.Rollback(t.Context())
	if n != 10 || sum != 55 {
		t.Errorf("snapshot sees %d rows summing %d, want 10 and 55", n, sum)
	}
	st := e.stream(StreamOptions{Start: slot.ConsistentPoint})
	t1, _ := readTx(t, st)
	t2, _ := readTx(t, st)
	if summary(t1.Changes[0]) != "c public.t v1 before=[] after=[11] toast=[]" ||
		summary(t2.Changes[0]) != "d public.t v1 before=[1] after=[] toast=[]" {
		t.Errorf("stream after snapshot: %s / %s", summary(t1.Changes[0]), summary(t2.Changes[0]))
	}
}

// TestDrop removes slot and publication, and is idempotent.
func TestDrop(t *testing.T) {
	e := newEnv(t, `CREATE TABLE t (id int PRIMARY KEY)`)
	e.create(Publication{Tables: []Table{{Schema: "public", Name: "t"}}})
	for range 2 {
		if err := e.src.Drop(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	var slots, pubs int
	if err := e.db.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1),
		(SELECT count(*) FROM pg_publication WHERE pubname = $1)`, e.src.SlotName()).Scan(&slots, &pubs); err != nil {
		t.Fatal(err)
	}
	if slots != 0 || pubs != 0 {
		t.Errorf("after Drop: %d slots, %d publications", slots, pubs)
	}
	if _, err := e.src.State(t.Context()); !errors.Is(err, ErrSlotMissing) {
		t.Errorf("State after Drop: %v", err)
	}
}

func TestCheck(t *testing.T) {
	e := newEnv(t, `CREATE TABLE keyed (id int PRIMARY KEY)`, `CREATE TABLE "no key" (v int)`,
		`CREATE TABLE full_id (v int)`, `ALTER TABLE full_id REPLICA IDENTITY FULL`)
	pub := Publication{Tables: []Table{{Schema: "public", Name: "keyed"}, {Schema: "public", Name: "no key"}, {Schema: "public", Name: "full_id"}, {Schema: "public", Name: "missing"}}}
	problems, err := e.src.Check(t.Context(), pub)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.Table.Name)
		if p.Fix == "" {
			t.Errorf("problem without a fix: %s", p.What)
		}
	}
	want := []string{"keyed", "no key", "missing"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("problems for %v, want %v: %v", got, want, problems)
	}
	if problems[0].Blocking || !problems[1].Blocking || !problems[2].Blocking ||
		!strings.Contains(problems[1].What, `"public"."no key"`) || !strings.Contains(problems[1].Fix, "REPLICA IDENTITY FULL") {
		t.Errorf("problems: %v", problems)
	}

	// A role without REPLICATION, connecting to the same database.
	role := testenv.Name("r")
	e.exec(`CREATE ROLE ` + role + ` LOGIN`)
	t.Cleanup(func() { e.db.Exec(context.Background(), `DROP ROLE IF EXISTS `+role) })
	plain, err := New(strings.Replace(e.url, "postgres@", role+"@", 1), "x")
	if err != nil {
		t.Fatal(err)
	}
	problems, err = plain.Check(t.Context(), Publication{Tables: []Table{{Schema: "public", Name: "keyed"}}})
	if err != nil {
		t.Fatal(err)
	}
	var what []string
	for _, p := range problems {
		what = append(what, p.String())
	}
	joined := strings.Join(what, "\n")
	for _, w := range []string{"neither the REPLICATION attribute", "ALTER ROLE " + `"` + role + `" REPLICATION`, "not owned by", "may not create a publication"} {
		if !strings.Contains(joined, w) {
			t.Errorf("problems lack %q:\n%s", w, joined)
		}
	}
}

func TestNewRejectsBadNames(t *testing.T) {
	for _, n := range []string{"", "Upper", "a-b", "a b", strings.Repeat("a", 55), `x"; DROP`} {
		if _, err := New("postgres://h/db", n); err == nil {
			t.Errorf("New accepted %q", n)
		}
	}
}
