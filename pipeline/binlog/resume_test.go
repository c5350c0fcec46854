package binlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/mysqlproto"
	"github.com/s3bridge/s3bridge/pipeline"
)

// ids returns the id (column 0, an INT) of each change's row.
func ids(cs []pipeline.Change) []int32 {
	var out []int32
	for _, c := range cs {
		r := c.After
		if r == nil {
			r = c.Before
		}
		out = append(out, r[0].(int32))
	}
	return out
}

// TestResume streams, confirms part of what it read, and streams again
// from the durable position — by GTID and by file and offset — across a
// rotation of the binary log: the second stream starts with the first
// transaction not confirmed and the LSNs grow across the files.
func TestResume(t *testing.T) {
	e := newEnv(t, "CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` VARCHAR(10))")
	st := e.stream(StreamOptions{})
	start := st.Durable()
	e.exec("INSERT INTO `t` VALUES (1, 'one')")
	e.exec("INSERT INTO `t` VALUES (2, 'two')")
	got, txs := changes(t, st, 2)
	if g := ids(got); len(g) != 2 || g[0] != 1 || g[1] != 2 {
		t.Fatalf("first stream: ids %v", g)
	}
	if d := st.Durable(); d.String() != start.String() {
		t.Errorf("durable %s before any Confirm, want the start %s", d, start)
	}
	st.Confirm(txs[0].EndLSN)
	durable := st.Durable()
	if lsn, err := durable.LSN(); err != nil || lsn != txs[0].EndLSN {
		t.Errorf("durable %s: LSN %s (%v), want %s", durable, lsn, err, txs[0].EndLSN)
	}
	g, _ := durable.GTIDs.Domain(0)
	if int64(g.Seq) != txs[0].ID {
		t.Errorf("durable %s: want the GTID of transaction %d", durable, txs[0].ID)
	}
	st.Confirm(txs[0].EndLSN - 1) // never back
	if d := st.Durable(); d.String() != durable.String() {
		t.Errorf("durable moved back to %s", d)
	}
	st.Close(t.Context())

	e.exec("INSERT INTO `t` VALUES (3, 'three')")
	e.exec("FLUSH BINARY LOGS")
	e.exec("INSERT INTO `t` VALUES (4, 'four')")
	for _, from := range []Position{{GTIDs: durable.GTIDs}, {File: durable.File, Pos: durable.Pos}} {
		st := e.stream(StreamOptions{Start: from})
		got, txs := changes(t, st, 3)
		if g := ids(got); len(g) != 3 || g[0] != 2 || g[1] != 3 || g[2] != 4 {
			t.Errorf("from %s: ids %v, want 2 3 4", from, g)
		}
		for i := 1; i < len(txs); i++ {
			if txs[i].CommitLSN < txs[i-1].EndLSN {
				t.Errorf("from %s: transaction %d at %s before the end of the one before, %s", from, txs[i].ID, txs[i].CommitLSN, txs[i-1].EndLSN)
			}
		}
		if last, first := txs[2].CommitLSN>>32, txs[0].CommitLSN>>32; last != first+1 {
			t.Errorf("from %s: files %d then %d across FLUSH BINARY LOGS", from, first, last)
		}
		if p, last := st.Position(), txs[2].EndLSN; p.File == "" || p.Pos < uint32(last) {
			t.Errorf("position %s after the end of the last transaction, %s", p, last)
		}
	}
	// NonBlocking: the server ends the stream at the end of its log.
	st = e.stream(StreamOptions{Start: durable, NonBlocking: true})
	n := 0
	for {
		ev, err := st.Next(t.Context())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.Change != nil {
			n++
		}
	}
	if n != 3 {
		t.Errorf("non-blocking stream: %d changes, want 3", n)
	}
}

// TestDDL streams DDL among row changes: each statement is a Message in
// log order, OnDDL hears it, the rows after an ALTER come with a new
// schema version, and a TRUNCATE is also a truncate change of the table's
// latest version, before its Message.
func TestDDL(t *testing.T) {
	e := newEnv(t, "CREATE TABLE `t` (`id` INT PRIMARY KEY, `a` INT)")
	var ddls []DDL
	var versions []*pipeline.TableSchema
	st := e.stream(StreamOptions{
		// Version 6 of the table is where an earlier stream left it.
		Known: []pipeline.TableSchema{{Database: e.src.Database(), Schema: e.name, Table: "t", Version: 6, Columns: []pipeline.Column{
			{Name: "id", Type: pipeline.Type{Kind: pipeline.KindInt32, Name: "int"}, Key: true},
			{Name: "a", Type: pipeline.Type{Kind: pipeline.KindInt32, Name: "int"}, Nullable: true},
		}}},
		OnSchema: func(ts *pipeline.TableSchema) { versions = append(versions, ts) },
		OnDDL: func(d DDL) {
			if d.Database == e.name {
				ddls = append(ddls, d)
			}
		},
	})
	e.exec("INSERT INTO `t` VALUES (1, 1)")
	e.exec("ALTER TABLE `t` ADD COLUMN `b` VARCHAR(5)")
	e.exec("INSERT INTO `t` VALUES (2, 2, 'x')")
	e.exec("ALTER TABLE `t` DROP COLUMN `a`")
	e.exec("INSERT INTO `t` VALUES (3, 'y')")
	e.exec("TRUNCATE TABLE `t`")
	e.exec("INSERT INTO `t` VALUES (4, 'z')")
	e.exec("CREATE TABLE `u` AS SELECT `id` FROM `t`")

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var log []string // "c 1 v7", "ddl ALTER …"
	for len(log) < 10 {
		ev, err := st.Next(ctx)
		if err != nil {
			t.Fatalf("after %v: %v", log, err)
		}
		switch {
		case ev.Change != nil && ev.Change.Op == pipeline.OpTruncate:
			c := ev.Change
			log = append(log, fmt.Sprintf("%s %s v%d", c.Op, c.Source.Table, c.Schema.Version))
		case ev.Change != nil:
			c := ev.Change
			log = append(log, fmt.Sprintf("%s %s.%d v%d", c.Op, c.Source.Table, c.After[0], c.Schema.Version))
		case ev.Message != nil && ev.Message.Prefix == DDLPrefix && len(ddls) > 0 && string(ev.Message.Content) == ddls[len(ddls)-1].SQL:
			d := ddls[len(ddls)-1]
			if ev.Message.Transactional != d.Transactional || ev.Message.LSN != d.LSN {
				t.Errorf("DDL message %+v for %+v", ev.Message, d)
			}
			tx := ""
			if d.Transactional {
				tx = " (in a transaction)"
			}
			log = append(log, "ddl "+strings.Join(strings.Fields(d.SQL), " ")+tx)
		}
	}
	want := []string{"c t.1 v6", "ddl ALTER TABLE `t` ADD COLUMN `b` VARCHAR(5)", "c t.2 v7", "ddl ALTER TABLE `t` DROP COLUMN `a`",
		"c t.3 v8", "t t v8", "ddl TRUNCATE TABLE `t`", "c t.4 v8", "ddl CREATE TABLE `u` ( `id` int(11) NOT NULL ) (in a transaction)", "c u.4 v1"}
	if strings.Join(log, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(log, "\n"), strings.Join(want, "\n"))
	}
	if len(versions) != 3 || versions[0].Version != 7 || versions[1].Version != 8 || versions[1].Index("a") >= 0 || versions[1].Index("b") != 1 {
		t.Errorf("new versions: %+v", versions)
	}
}

// TestCancel: Next returns when its context ends, while the server's
// heartbeats keep an idle stream alive.
func TestCancel(t *testing.T) {
	e := newEnv(t)
	st := e.stream(StreamOptions{Heartbeat: 100 * time.Millisecond, Include: func(string, string) bool { return false }})
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	begin := time.Now()
	var err error
	for err == nil {
		_, err = st.Next(ctx)
	}
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(begin) > 5*time.Second {
		t.Errorf("after %s: %v, want the context's deadline", time.Since(begin), err)
	}
}

// TestUnavailable: a start the server's log does not have is
// ErrLogUnavailable.
func TestUnavailable(t *testing.T) {
	e := newEnv(t)
	for _, from := range []Position{
		{GTIDs: GTIDSet{{Domain: 0, Server: 4242424, Seq: 1}}, File: "x.000001", Pos: 4},
		{File: "mariadb-bin.999999", Pos: 4},
	} {
		st := e.stream(StreamOptions{Start: from})
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		var err error
		for err == nil {
			_, err = st.Next(ctx)
		}
		cancel()
		var se *mysqlproto.Error
		if !errors.Is(err, ErrLogUnavailable) || !errors.As(err, &se) {
			t.Errorf("from %s: %v, want ErrLogUnavailable with the server's error", from, err)
		}
	}
}

// TestPartialImages streams row events with partial column bitmaps
// (binlog_row_image MINIMAL and NOBLOB): a column left out of a before
// image is nil, one left out of an after image is listed as not sent.
func TestPartialImages(t *testing.T) {
	e := newEnv(t, "CREATE TABLE `t` (`id` INT PRIMARY KEY, `a` INT, `b` VARCHAR(5), `c` BLOB)")
	annotations := 0
	st := e.stream(StreamOptions{Annotate: true, Raw: func(ev []byte) {
		if EventType(ev[4]) == AnnotateRowsEvent {
			annotations++
		}
	}})
	conn, err := e.db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, s := range []string{
		"INSERT INTO `t` VALUES (1, 1, 'x', X'AA')",
		"SET SESSION binlog_row_image = MINIMAL",
		"UPDATE `t` SET `b` = 'y' WHERE `id` = 1",
		"SET SESSION binlog_row_image = NOBLOB",
		"UPDATE `t` SET `a` = 2 WHERE `id` = 1",
		"SET SESSION binlog_row_image = MINIMAL",
		"DELETE FROM `t` WHERE `id` = 1",
	} {
		if _, err := conn.ExecContext(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	got, _ := changes(t, st, 4)
	show := func(r pipeline.Row) string {
		if r == nil {
			return "-"
		}
		return fmt.Sprintf("%v", r)
	}
	var lines []string
	for _, c := range got {
		lines = append(lines, fmt.Sprintf("%s %s %s %v", c.Op, show(c.Before), show(c.After), c.UnchangedToast))
	}
	want := []string{
		"c - [1 1 x [170]] []",
		"u [1 <nil> <nil> <nil>] [<nil> <nil> y <nil>] [id a c]",
		"u [1 1 y <nil>] [1 2 y <nil>] [c]",
		"d [1 <nil> <nil> <nil>] - []",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if annotations < 4 {
		t.Errorf("%d ANNOTATE_ROWS events, want one per statement at least", annotations)
	}
}

// TestZeroValues: the zero dates MariaDB accepts outside strict modes
// are nil, and an ENUM's error value the empty string.
func TestZeroValues(t *testing.T) {
	e := newEnv(t, "CREATE TABLE `z` (`id` INT PRIMARY KEY, `d` DATE, `dt` DATETIME(3), `ts` TIMESTAMP NULL, `e` ENUM('a'), `y` YEAR)")
	st := e.stream(StreamOptions{})
	conn, err := e.db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, s := range []string{"SET SESSION sql_mode = ''",
		"INSERT INTO `z` VALUES (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', 'bogus', 0)",
		"INSERT INTO `z` VALUES (2, '2024-00-15', '2024-02-00 01:02:03.5', '1970-01-01 00:00:01', 'a', 2000)",
	} {
		if _, err := conn.ExecContext(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	got, _ := changes(t, st, 2)
	want := []string{"[1 <nil> <nil> <nil>  0]", "[2 <nil> <nil> 1970-01-01 00:00:01 +0000 UTC a 2000]"}
	for i, c := range got {
		if s := fmt.Sprintf("%v", c.After); s != want[i] {
			t.Errorf("row %d: %s, want %s", i+1, s, want[i])
		}
	}
}
