package mysource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/binlog"
	"github.com/s3bridge/s3bridge/statement"
)

// waitFor polls cond until it holds, failing after 60s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: timed out", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSeam takes a snapshot while two writers insert rows, one
// transaction each: every row written is in the snapshot or in the
// stream from the snapshot's point, never in both, never in neither —
// from the token, its file and offset alone, its GTIDs alone and its LSN
// alone.
func TestSeam(t *testing.T) {
	e := newEnv(t, "CREATE TABLE `t` (`id` INT PRIMARY KEY, `w` INT)")
	s := e.source("t")
	var (
		stop    atomic.Bool
		count   atomic.Int64
		mu      sync.Mutex
		written = map[int32]bool{}
		wg      sync.WaitGroup
	)
	for w := range 2 {
		wg.Go(func() {
			for id := int32(w + 1); !stop.Load(); id += 2 {
				if _, err := e.db.ExecContext(t.Context(), "INSERT INTO `t` VALUES (?, ?)", id, w); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				written[id] = true
				mu.Unlock()
				count.Add(1)
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()
	waitFor(t, "200 rows", func() bool { return count.Load() >= 200 })
	slot, err := s.Create(t.Context(), s.Publication())
	if err != nil {
		t.Fatal(err)
	}
	defer slot.Release(context.Background())
	sn, err := s.OpenSnapshot(t.Context(), slot)
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close(context.Background())
	if err := slot.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	at := count.Load()
	waitFor(t, "200 more rows", func() bool { return count.Load() >= at+200 })
	stop.Store(true)
	wg.Wait()
	t.Logf("snapshot at %s (LSN %s)", slot.Position, slot.ConsistentPoint)

	snap := map[int32]bool{}
	for _, r := range readAll(t, sn, schemaOf(t, sn, e.table("t"))) {
		snap[r[0].(int32)] = true
	}
	// The rows the stream must send: those written and not in the
	// snapshot.
	want := 0
	for id := range written {
		if !snap[id] {
			want++
		}
	}
	for id := range snap {
		if !written[id] {
			t.Errorf("snapshot row %d was never written", id)
		}
	}
	if len(snap) == 0 || want == 0 {
		t.Fatalf("snapshot of %d rows of %d written: the writers did not run across it", len(snap), len(written))
	}
	tok, _ := ParseToken(slot.Position)
	starts := []StreamOptions{
		{Start: slot.ConsistentPoint, Position: slot.Position},
		{Start: slot.ConsistentPoint, Position: Token(binlog.Position{File: tok.File, Pos: tok.Pos})},
		{Start: slot.ConsistentPoint},
	}
	if len(tok.GTIDs) > 0 {
		starts = append(starts, StreamOptions{Position: Token(binlog.Position{GTIDs: tok.GTIDs})})
	}
	var first []int32
	for _, opts := range starts {
		st := stream(t, s, opts)
		cs, _ := changes(t, st, want)
		var got []int32
		once := map[int32]bool{}
		for _, c := range cs {
			id := c.After[0].(int32)
			if c.Op != pipeline.OpCreate || snap[id] || !written[id] || once[id] || c.Source.LSN < slot.ConsistentPoint {
				t.Errorf("from %+v: change %s of row %d at %s: in the snapshot %t, streamed before %t", opts, c.Op, id, c.Source.LSN, snap[id], once[id])
			}
			once[id] = true
			got = append(got, id)
		}
		if first == nil {
			first = got
		} else if !slices.Equal(got, first) {
			t.Errorf("from %+v: rows %v, from the token %v", opts, got, first)
		}
		st.Close(t.Context())
	}
}

// TestChunks plans chunks of tables with every kind of key and reads them
// through two sessions of one snapshot: every row exactly once.
func TestChunks(t *testing.T) {
	e := newEnv(t,
		"CREATE TABLE `dense` (`id` INT PRIMARY KEY, `v` INT)",
		"INSERT INTO `dense` SELECT `seq`, `seq` FROM `seq_1_to_1000`",
		"CREATE TABLE `sparse` (`id` BIGINT PRIMARY KEY, `v` INT)",
		"INSERT INTO `sparse` SELECT CAST(`seq` AS SIGNED) * CAST(`seq` AS SIGNED) * 1000 - 5000000, `seq` FROM `seq_1_to_600`",
		"CREATE TABLE `ubig` (`id` BIGINT UNSIGNED PRIMARY KEY)",
		"INSERT INTO `ubig` SELECT 18446744073709551615 - `seq` FROM `seq_0_to_499`",
		"CREATE TABLE `comp` (`k` VARCHAR(10) COLLATE utf8mb4_general_ci, `n` INT, `v` INT, PRIMARY KEY (`k`, `n`))",
		"INSERT INTO `comp` SELECT ELT(1 + `seq` % 8, 'a', 'B', 'c', 'D', 'é', 'F', 'ab', 'Ac '), `seq` DIV 8, `seq` FROM `seq_0_to_799`",
		"CREATE TABLE `bin` (`k` VARBINARY(8) PRIMARY KEY)",
		"INSERT INTO `bin` SELECT UNHEX(HEX(`seq` * 2654435761 % 4294967291)) FROM `seq_1_to_500`",
		"CREATE TABLE `uniq` (`u` INT NOT NULL, `v` INT, UNIQUE KEY (`u`))",
		"INSERT INTO `uniq` SELECT 1000 - `seq`, `seq` FROM `seq_1_to_400`",
		"CREATE TABLE `nokey` (`a` INT, `b` INT)",
		"INSERT INTO `nokey` SELECT `seq` % 10, `seq` FROM `seq_1_to_300`",
		"ANALYZE TABLE `dense`, `sparse`, `ubig`, `comp`, `bin`, `uniq`, `nokey`",
	)
	tables := []string{"dense", "sparse", "ubig", "comp", "bin", "uniq", "nokey"}
	s := e.source(tables...)
	slot, sn0 := snapshotOf(t, s)
	sn1, err := s.OpenSnapshot(t.Context(), slot)
	if err != nil {
		t.Fatal(err)
	}
	defer sn1.Close(context.Background())
	sessions := []*Snapshot{sn1, sn0}
	for _, name := range tables {
		t.Run(name, func(t *testing.T) {
			tb := e.table(name)
			plan, err := sn0.Plan(t.Context(), tb, 97, 4096)
			if err != nil {
				t.Fatal(err)
			}
			// As a checkpoint would keep it.
			b, _ := json.Marshal(plan)
			var kept Chunking
			if err := json.Unmarshal(b, &kept); err != nil {
				t.Fatal(err)
			}
			ts := schemaOf(t, sn0, tb)
			if len(kept.Bounds) > 0 {
				t.Logf("%d chunks by %v, from %q", kept.Chunks, kept.Key, kept.Bounds[0])
			}
			seen := map[string]int{}
			for i := range kept.Chunks {
				n, err := sessions[i%2].ReadChunk(t.Context(), ts, kept, i, sn0.LSN(), func(c *pipeline.Change) error {
					seen[fmt.Sprint(c.After)]++
					return nil
				})
				if err != nil {
					t.Fatalf("chunk %d: %v", i, err)
				}
				if n > 97*3 && name != "nokey" {
					t.Errorf("chunk %d of %d: %d rows, for about 97", i, kept.Chunks, n)
				}
			}
			var total int
			if err := e.db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+statement.QuoteIdentMySQL(name)).Scan(&total); err != nil {
				t.Fatal(err)
			}
			rows := 0
			for row, n := range seen {
				rows += n
				if n != 1 && name != "nokey" {
					t.Errorf("row %s read %d times", row, n)
				}
			}
			if rows != total {
				t.Errorf("%d rows read in %d chunks, want %d", rows, kept.Chunks, total)
			}
			switch {
			case name == "nokey" && kept.Chunks != 1:
				t.Errorf("a table without a key in %d chunks", kept.Chunks)
			case name != "nokey" && kept.Chunks < 4:
				t.Errorf("%d chunks (%+v), want about %d", kept.Chunks, kept.Key, total/97)
			}
		})
	}
}

// TestConverge takes a snapshot while a writer inserts, updates (keys
// too) and deletes: the slot's own session and a later one read a keyed
// table's chunks, the later one a table without a key (which it reads
// in the slot's session). The snapshot's rows with the stream's changes
// from the snapshot's point, applied by key, are the tables' final rows.
func TestConverge(t *testing.T) {
	e := newEnv(t,
		"CREATE TABLE `k` (`id` INT PRIMARY KEY, `v` INT, `s` VARCHAR(20))",
		"INSERT INTO `k` SELECT `seq`, 0, CONCAT('r', `seq`) FROM `seq_1_to_2000`",
		"CREATE TABLE `nk` (`a` INT, `b` INT)",
		"INSERT INTO `nk` SELECT `seq`, `seq` FROM `seq_1_to_300`",
		"CREATE TABLE `done` (`id` INT PRIMARY KEY)",
		"ANALYZE TABLE `k`")
	s := e.source("k", "nk", "done")
	var stop atomic.Bool
	var ops atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		r := rand.New(rand.NewPCG(1, 2))
		next := int32(2001)
		for !stop.Load() {
			var q string
			var args []any
			switch r.IntN(6) {
			case 0:
				q, args = "INSERT INTO `k` VALUES (?, 1, 'new')", []any{next}
				next++
			case 1:
				q, args = "UPDATE `k` SET `v` = `v` + 1, `s` = CONCAT(`s`, '+') WHERE `id` = ?", []any{r.IntN(int(next))}
			case 2:
				q, args = "DELETE FROM `k` WHERE `id` = ?", []any{r.IntN(int(next))}
			case 3:
				q, args = "UPDATE IGNORE `k` SET `id` = `id` + 100000 WHERE `id` = ?", []any{r.IntN(int(next))}
			case 4:
				q, args = "INSERT INTO `nk` VALUES (?, ?)", []any{r.IntN(50), r.IntN(3)}
			case 5:
				q, args = "DELETE FROM `nk` WHERE `a` = ? LIMIT 1", []any{r.IntN(300)}
			}
			if _, err := e.db.ExecContext(t.Context(), q, args...); err != nil {
				t.Error(err)
				return
			}
			ops.Add(1)
		}
	})
	defer func() { stop.Store(true); wg.Wait() }()
	waitFor(t, "300 changes", func() bool { return ops.Load() >= 300 })
	slot, sn0 := snapshotOf(t, s)
	at := ops.Load()
	waitFor(t, "300 more changes", func() bool { return ops.Load() >= at+300 })
	sn1, err := s.OpenSnapshot(t.Context(), slot)
	if err != nil {
		t.Fatal(err)
	}
	defer sn1.Close(context.Background())
	if lsnOf(sn1.At()) <= slot.ConsistentPoint {
		t.Fatalf("second session at %s, not after the snapshot's point %s", Token(sn1.At()), slot.Position)
	}

	keyed := map[int32]pipeline.Row{}
	bag := map[string]int{}
	ks := schemaOf(t, sn0, e.table("k"))
	plan, err := sn0.Plan(t.Context(), e.table("k"), 150, 100)
	if err != nil || plan.Chunks < 4 {
		t.Fatalf("plan %+v: %v", plan, err)
	}
	for i := range plan.Chunks {
		sn := []*Snapshot{sn1, sn0}[i%2]
		if _, err := sn.ReadChunk(t.Context(), ks, plan, i, slot.ConsistentPoint, func(c *pipeline.Change) error {
			keyed[c.After[0].(int32)] = c.After
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range readAll(t, sn1, schemaOf(t, sn1, e.table("nk"))) {
		bag[fmt.Sprint(r)]++
	}
	at = ops.Load()
	waitFor(t, "300 more changes", func() bool { return ops.Load() >= at+300 })
	stop.Store(true)
	wg.Wait()
	e.exec("INSERT INTO `done` VALUES (1)")

	st := stream(t, s, StreamOptions{Start: slot.ConsistentPoint, Position: slot.Position})
	readUntil(t, st, func(tx *pipeline.Tx) bool {
		for _, c := range tx.Changes {
			switch c.Source.Table {
			case "done":
				return true
			case "k":
				if c.Before != nil {
					delete(keyed, c.Before[0].(int32))
				}
				if c.After != nil {
					keyed[c.After[0].(int32)] = c.After
				}
			case "nk":
				if c.Before != nil {
					if bag[fmt.Sprint(c.Before)] == 0 {
						t.Errorf("%s of row %v, which is not there", c.Op, c.Before)
					}
					bag[fmt.Sprint(c.Before)]--
				}
				if c.After != nil {
					bag[fmt.Sprint(c.After)]++
				}
			}
		}
		return false
	})

	final := map[int32]string{}
	rows, err := e.db.QueryContext(t.Context(), "SELECT `id`, `v`, `s` FROM `k`")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, v int32
		var s string
		if err := rows.Scan(&id, &v, &s); err != nil {
			t.Fatal(err)
		}
		final[id] = fmt.Sprint(pipeline.Row{id, v, s})
	}
	rows.Close()
	got := map[int32]string{}
	for id, r := range keyed {
		got[id] = fmt.Sprint(r)
	}
	if !maps.Equal(got, final) {
		diff := 0
		for id, f := range final {
			if got[id] != f {
				diff++
				if diff < 5 {
					t.Errorf("k row %d: %q, want %q", id, got[id], f)
				}
			}
		}
		t.Errorf("k: %d rows, want %d; %d differ", len(got), len(final), diff)
	}
	finalBag := map[string]int{}
	rows, err = e.db.QueryContext(t.Context(), "SELECT `a`, `b` FROM `nk`")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a, b int32
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		finalBag[fmt.Sprint(pipeline.Row{a, b})]++
	}
	rows.Close()
	maps.DeleteFunc(bag, func(_ string, n int) bool { return n == 0 })
	if !maps.Equal(bag, finalBag) {
		t.Errorf("nk: %v\nwant %v", bag, finalBag)
	}
}

// TestSlotGTIDs takes snapshots while a writer inserts rows one by one:
// a snapshot whose GTIDs were read (see openSession) has the GTIDs of its
// very point — a stream from them alone starts with the first row the
// snapshot lacks, as one from its file and offset does.
func TestSlotGTIDs(t *testing.T) {
	e := newEnv(t, "CREATE TABLE `t` (`id` INT PRIMARY KEY)")
	s := e.source("t")
	var stop atomic.Bool
	var last atomic.Int32
	var wg sync.WaitGroup
	wg.Go(func() {
		for id := int32(1); !stop.Load(); id++ {
			if _, err := e.db.ExecContext(t.Context(), "INSERT INTO `t` VALUES (?)", id); err != nil {
				t.Error(err)
				return
			}
			last.Store(id)
			// A paced load: the seam is read between two commits.
			time.Sleep(2 * time.Millisecond)
		}
	})
	defer func() { stop.Store(true); wg.Wait() }()
	exact := 0
	for range 5 {
		waitFor(t, "rows", func() bool { return last.Load() > 0 })
		slot, sn := snapshotOf(t, s)
		var top int32
		rows := readAll(t, sn, schemaOf(t, sn, e.table("t")))
		for _, r := range rows {
			top = max(top, r[0].(int32))
		}
		if int(top) != len(rows) {
			t.Fatalf("snapshot of %d rows up to %d: not a prefix", len(rows), top)
		}
		tok, _ := ParseToken(slot.Position)
		if len(tok.GTIDs) == 0 {
			continue
		}
		exact++
		waitFor(t, "a row after the snapshot", func() bool { return last.Load() > top })
		for _, p := range []binlog.Position{{GTIDs: tok.GTIDs}, {File: tok.File, Pos: tok.Pos}} {
			st := stream(t, s, StreamOptions{Position: Token(p)})
			cs, _ := changes(t, st, 1)
			if id := cs[0].After[0].(int32); id != top+1 {
				t.Errorf("from %s: first row %d, want %d (the snapshot ends at %d)", p, id, top+1, top)
			}
			st.Close(t.Context())
		}
	}
	if exact == 0 {
		t.Error("no snapshot of 5 read its GTIDs")
	}
}

// TestNotExact: a table without a key, asked of a session after the
// snapshot's point when the session at the point is gone, is not read.
func TestNotExact(t *testing.T) {
	e := newEnv(t, "CREATE TABLE `nk` (`a` INT)", "CREATE TABLE `k` (`id` INT PRIMARY KEY)")
	s := e.source("nk", "k")
	slot, err := s.SnapshotSlot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	slot.Release(t.Context())
	e.exec("INSERT INTO `nk` VALUES (1)")
	sn, err := s.OpenSnapshot(t.Context(), slot)
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close(context.Background())
	if _, err := sn.Read(t.Context(), schemaOf(t, sn, e.table("nk")), func(*pipeline.Change) error { return nil }); !errors.Is(err, ErrNotExact) {
		t.Errorf("read of a table without a key: %v, want ErrNotExact", err)
	}
	if _, err := sn.Read(t.Context(), schemaOf(t, sn, e.table("k")), func(*pipeline.Change) error { return nil }); err != nil {
		t.Errorf("read of a table with a key: %v", err)
	}
	if ok, err := sn.Resumable(t.Context(), e.table("nk")); ok || err != nil {
		t.Errorf("a table without a key resumable: %t, %v", ok, err)
	}
	if ok, err := sn.Resumable(t.Context(), e.table("k")); !ok || err != nil {
		t.Errorf("a table with a key not resumable: %t, %v", ok, err)
	}
}
