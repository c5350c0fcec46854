package mysource

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/binlog"
)

// ids returns the table and id (column 0, an INT) of each change's row.
func ids(cs []pipeline.Change) []string {
	var out []string
	for _, c := range cs {
		r := c.After
		if r == nil {
			r = c.Before
		}
		out = append(out, c.Source.Table+"."+show(r[0])[len("int32 "):])
	}
	return out
}

// TestStreamFilters: a stream keeps the captured tables' rows only, but
// the transactions of the others still come (empty), so positions move
// on; SyncPublication and AllTables change what is captured.
func TestStreamFilters(t *testing.T) {
	e := newEnv(t, "CREATE TABLE `a` (`id` INT PRIMARY KEY)", "CREATE TABLE `b` (`id` INT PRIMARY KEY)")
	s := e.source("a")
	st := stream(t, s, StreamOptions{})
	e.exec("INSERT INTO `a` VALUES (1)")
	e.exec("INSERT INTO `b` VALUES (1)")
	e.exec("BEGIN; INSERT INTO `a` VALUES (2); INSERT INTO `b` VALUES (2); COMMIT")
	e.exec("INSERT INTO `b` VALUES (3)")
	e.exec("INSERT INTO `a` VALUES (3)")
	var got []pipeline.Change
	empty := 0
	readUntil(t, st, func(tx *pipeline.Tx) bool {
		if len(tx.Changes) == 0 {
			empty++
		}
		got = append(got, tx.Changes...)
		return len(got) >= 3
	})
	if g := strings.Join(ids(got), " "); g != "a.1 a.2 a.3" {
		t.Errorf("changes %s, want a's only", g)
	}
	if empty < 2 {
		t.Errorf("%d empty transactions, want b's two at least", empty)
	}
	st.Close(t.Context())

	// add-table: b too, from the next stream on.
	if changed, err := s.SyncPublication(t.Context(), Publication{Tables: []Table{e.table("a"), e.table("b")}}); err != nil || !changed {
		t.Fatalf("SyncPublication: changed %t, %v", changed, err)
	}
	if changed, err := s.SyncPublication(t.Context(), Publication{Tables: []Table{e.table("b"), e.table("a")}}); err != nil || changed {
		t.Errorf("SyncPublication again: changed %t, %v", changed, err)
	}
	if _, err := s.SyncPublication(t.Context(), Publication{Tables: []Table{e.table("nope")}}); err == nil {
		t.Error("SyncPublication with a table that does not exist: no error")
	}
	st = stream(t, s, StreamOptions{})
	e.exec("INSERT INTO `b` VALUES (4)")
	e.exec("INSERT INTO `a` VALUES (4)")
	if g := strings.Join(ids(first(changes(t, st, 2))), " "); g != "b.4 a.4" {
		t.Errorf("after add-table: %s, want b.4 a.4", g)
	}
	st.Close(t.Context())

	// Every table of the database, those created later too; not another
	// database's.
	all, err := New(e.url, "p", Publication{AllTables: true})
	if err != nil {
		t.Fatal(err)
	}
	other := newEnv(t, "CREATE TABLE `o` (`id` INT PRIMARY KEY)")
	st = stream(t, all, StreamOptions{})
	e.exec("CREATE TABLE `c` (`id` INT PRIMARY KEY)")
	other.exec("INSERT INTO `o` VALUES (5)")
	e.exec("INSERT INTO `c` VALUES (5)")
	e.exec("INSERT INTO `b` VALUES (5)")
	if g := strings.Join(ids(first(changes(t, st, 2))), " "); g != "c.5 b.5" {
		t.Errorf("all tables: %s, want c.5 b.5", g)
	}
}

func first[A, B any](a A, _ B) A { return a }

// TestResumeToken streams, saves the token of a durable position, and
// streams again from it — the token, its file and offset, its GTIDs, its
// LSN alone — across FLUSH BINARY LOGS: the first change not confirmed
// comes first.
func TestResumeToken(t *testing.T) {
	e := newEnv(t, "CREATE TABLE `t` (`id` INT PRIMARY KEY)")
	s := e.source("t")
	st := stream(t, s, StreamOptions{})
	if len(st.Start().GTIDs) == 0 || st.Start().File == "" {
		t.Fatalf("start %s: want GTIDs and a file", st.Start())
	}
	e.exec("INSERT INTO `t` VALUES (1)")
	e.exec("INSERT INTO `t` VALUES (2)")
	_, txs := changes(t, st, 2)
	startTok := Token(st.Start())
	if got := st.DurableToken(); got != startTok {
		t.Errorf("durable %s before Confirm, want the start %s", got, startTok)
	}
	// Before the first commit's end: the start, or the end of a
	// transaction of another database that committed in between (the
	// stream sees every transaction; other tests write to this server
	// meanwhile) — never past the first transaction's beginning.
	before, err := ParseToken(st.Token(txs[0].EndLSN - 1))
	if err != nil {
		t.Fatal(err)
	}
	if l := lsnOf(before); l < lsnOf(st.Start()) || l > txs[0].BeginLSN {
		t.Errorf("token before the first commit's end: %s, want between the start %s and the first transaction's beginning %s",
			before, st.Start(), txs[0].BeginLSN)
	}
	tok := st.Token(txs[0].EndLSN)
	st.Confirm(txs[0].EndLSN)
	if got := st.DurableToken(); got != tok {
		t.Errorf("durable %s after Confirm, want the token %s", got, tok)
	}
	if st.Durable() != txs[0].EndLSN {
		t.Errorf("durable LSN %s, want %s", st.Durable(), txs[0].EndLSN)
	}
	st.Confirm(txs[0].EndLSN - 5) // never back
	if got := st.DurableToken(); got != tok {
		t.Errorf("durable moved back to %s", got)
	}
	p, _ := ParseToken(tok)
	if g, ok := p.GTIDs.Domain(0); !ok || int64(g.Seq) != txs[0].ID {
		t.Errorf("token %s: want the first transaction's GTID (seq %d)", tok, txs[0].ID)
	}
	st.Close(t.Context())

	e.exec("INSERT INTO `t` VALUES (3)")
	e.exec("FLUSH BINARY LOGS")
	e.exec("INSERT INTO `t` VALUES (4)")
	for _, opts := range []StreamOptions{
		{Start: txs[0].EndLSN, Position: tok},
		{Start: txs[0].EndLSN, Position: Token(binlog.Position{File: p.File, Pos: p.Pos})},
		{Position: Token(binlog.Position{GTIDs: p.GTIDs})},
		{Start: txs[0].EndLSN},
	} {
		st := stream(t, s, opts)
		cs, txs := changes(t, st, 3)
		if g := strings.Join(ids(cs), " "); g != "t.2 t.3 t.4" {
			t.Errorf("from %+v: %s, want t.2 t.3 t.4", opts, g)
		}
		if last, first := txs[2].CommitLSN>>32, txs[0].CommitLSN>>32; last != first+1 {
			t.Errorf("from %+v: files %d then %d across FLUSH BINARY LOGS", opts, first, last)
		}
		// A token taken after the rotation resumes there too.
		if tp, _ := ParseToken(st.Token(txs[2].EndLSN)); tp.File == p.File || (len(tp.GTIDs) == 0) != (len(st.Start().GTIDs) == 0) {
			t.Errorf("from %+v: token after the rotation %v", opts, tp)
		}
		st.Close(t.Context())
	}
	if _, err := s.Stream(t.Context(), StreamOptions{Start: txs[0].EndLSN + 1, Position: tok}); err == nil {
		t.Error("a token and an LSN that disagree: no error")
	}
}

// TestPurged: a checkpoint whose binary log the server no longer has is a
// *PurgedError that says how to recover.
func TestPurged(t *testing.T) {
	e := newEnv(t, "CREATE TABLE `t` (`id` INT PRIMARY KEY)")
	s := e.source("t")
	for _, opts := range []StreamOptions{
		{Position: "mariadb-bin.999999:4"},
		{Position: "0-4242424-1"},
		{Start: pipeline.LSN(999999)<<32 | 4},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		st, err := s.Stream(ctx, opts)
		if err == nil {
			for err == nil {
				_, err = st.Next(ctx)
			}
			st.Close(ctx)
		}
		cancel()
		var pe *PurgedError
		if !errors.As(err, &pe) || !errors.Is(err, binlog.ErrLogUnavailable) || !strings.Contains(err.Error(), "s3bridge pipeline snapshot p") {
			t.Errorf("from %+v: %v, want a *PurgedError", opts, err)
		}
	}
}

// TestRetained: the bytes of binary log from a checkpoint to the end grow
// with what is logged after it.
func TestRetained(t *testing.T) {
	e := newEnv(t, "CREATE TABLE `t` (`id` INT PRIMARY KEY, `b` LONGBLOB)")
	s := e.source("t")
	st := stream(t, s, StreamOptions{})
	tok := st.DurableToken()
	before, behind, err := s.Retained(t.Context(), 0, tok)
	if err != nil || before != behind {
		t.Fatalf("Retained: %d, %d, %v", before, behind, err)
	}
	e.exec("INSERT INTO `t` VALUES (1, REPEAT(X'AB', 300000))")
	after, _, err := s.Retained(t.Context(), 0, tok)
	if err != nil || after < before+300000 {
		t.Errorf("after logging 300 kB: %d bytes, %v; before %d", after, err, before)
	}
	if lsn, _, err := s.Retained(t.Context(), st.Durable(), ""); err != nil || lsn < after {
		t.Errorf("by LSN: %d, %v; by token %d", lsn, err, after)
	}
	var pe *PurgedError
	if _, _, err := s.Retained(t.Context(), 0, "mariadb-bin.999999:4"); !errors.As(err, &pe) {
		t.Errorf("a purged file: %v, want a *PurgedError", err)
	}
}
