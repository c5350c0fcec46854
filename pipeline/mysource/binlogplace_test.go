package mysource

import (
	"database/sql"
	"fmt"
	"testing"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/binlog"
)

// groupAt is what the server's SHOW BINLOG EVENTS says of the event at
// file:pos: its type, server_id and text ("BEGIN GTID 0-1-42").
func (e *env) groupAt(file string, pos uint32) (typ string, serverID uint32, info string) {
	e.t.Helper()
	var name, end string
	var at uint32
	q := fmt.Sprintf("SHOW BINLOG EVENTS IN '%s' FROM %d LIMIT 1", file, pos)
	if err := e.db.QueryRowContext(e.t.Context(), q).Scan(&name, &at, &typ, &serverID, &end, &info); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	if at != pos {
		e.t.Fatalf("%s: an event at %d", q, at)
	}
	return typ, serverID, info
}

// TestPlaces: every change streamed says where its transaction is in
// the binary log — the GTID, server_id, file and offset the server's SHOW
// BINLOG EVENTS gives for the transaction's GTID event — across a
// rotation, for a truncate, and for a stream started by GTIDs alone (the
// file then comes from the ROTATE the server sends first); a snapshot's
// rows carry its seam, whose GTIDs are the server's at that place.
func TestPlaces(t *testing.T) {
	e := newEnv(t, "CREATE TABLE `t` (`id` INT PRIMARY KEY)")
	e.exec("INSERT INTO `t` VALUES (100)")
	s := e.source("t")

	slot, sn := snapshotOf(t, s)
	ts := schemaOf(t, sn, e.table("t"))
	var read []*pipeline.Change
	if _, err := sn.Read(t.Context(), ts, func(c *pipeline.Change) error { read = append(read, c); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(read) != 1 || read[0].Source.Binlog == nil {
		t.Fatalf("snapshot read %d rows, the first with a place %v", len(read), read)
	}
	seam := *read[0].Source.Binlog
	if seam.File == "" || seam.GTID == "" || seam.ServerID != 0 {
		t.Errorf("the seam %+v: want a file, GTIDs, no server", seam)
	}
	if l, err := (binlog.Position{File: seam.File, Pos: seam.Pos}).LSN(); err != nil || l != slot.ConsistentPoint || l != read[0].Source.LSN {
		t.Errorf("the seam %s:%d is LSN %s (%v), the slot's point %s", seam.File, seam.Pos, l, err, slot.ConsistentPoint)
	}
	// The snapshot's transaction holds a metadata lock TRUNCATE waits for.
	sn.Close(t.Context())
	slot.Release(t.Context())
	// The server's GTIDs at the seam (none when the file holds an event
	// larger than max_allowed_packet, as the benchmarks' may: then the
	// slot's own, which TestSlotGTIDs checks, are trusted).
	var serverGTIDs sql.NullString
	if err := e.db.QueryRowContext(t.Context(), "SELECT BINLOG_GTID_POS(?, ?)", seam.File, seam.Pos).Scan(&serverGTIDs); err != nil {
		t.Fatal(err)
	}
	if serverGTIDs.Valid && seam.GTID != serverGTIDs.String {
		t.Errorf("the seam's GTIDs %q, the server's at %s:%d %q", seam.GTID, seam.File, seam.Pos, serverGTIDs.String)
	}
	if want := Token(binlog.Position{GTIDs: mustGTIDs(t, seam.GTID), File: seam.File, Pos: seam.Pos}); want != slot.Position {
		t.Errorf("the seam %+v, the slot's token %s", seam, slot.Position)
	}

	st := stream(t, s, StreamOptions{})
	e.exec("INSERT INTO `t` VALUES (1)")
	e.exec("BEGIN; INSERT INTO `t` VALUES (2); UPDATE `t` SET `id` = 3 WHERE `id` = 2; COMMIT")
	e.exec("FLUSH BINARY LOGS")
	e.exec("DELETE FROM `t` WHERE `id` = 1")
	e.exec("TRUNCATE TABLE `t`")
	got, _ := changes(t, st, 5)
	check := func(what string, c pipeline.Change) {
		t.Helper()
		b := c.Source.Binlog
		if b == nil {
			t.Fatalf("%s: no place", what)
		}
		if l, err := (binlog.Position{File: b.File, Pos: b.Pos}).LSN(); err != nil || l != c.Source.LSN {
			t.Errorf("%s: %s:%d is LSN %s (%v), the change's %s", what, b.File, b.Pos, l, err, c.Source.LSN)
		}
		typ, server, info := e.groupAt(b.File, b.Pos)
		want := "BEGIN GTID " + b.GTID
		if c.Op == pipeline.OpTruncate {
			want = "GTID " + b.GTID
		}
		if typ != "Gtid" || info != want || server != b.ServerID {
			t.Errorf("%s at %s:%d: the server has %s %q of server %d; the change says %q of server %d", what, b.File, b.Pos, typ, info, server, want, b.ServerID)
		}
	}
	ops := ""
	for i, c := range got {
		ops += c.Op.String()
		check(fmt.Sprintf("change %d (%s)", i, c.Op), c)
	}
	if ops != "ccudt" {
		t.Fatalf("ops %s, want ccudt", ops)
	}
	if got[1].Source.Binlog != got[2].Source.Binlog {
		t.Errorf("the changes of one transaction have two places: %+v, %+v", *got[1].Source.Binlog, *got[2].Source.Binlog)
	}
	if got[0].Source.Binlog.GTID == got[1].Source.Binlog.GTID {
		t.Errorf("two transactions with one GTID %s", got[0].Source.Binlog.GTID)
	}
	if got[2].Source.Binlog.File == got[3].Source.Binlog.File {
		t.Errorf("the delete after FLUSH BINARY LOGS is in %s too", got[3].Source.Binlog.File)
	}

	// From the GTIDs before the first insert alone: the same places.
	again := stream(t, s, StreamOptions{Position: st.Start().GTIDs.String()})
	got2, _ := changes(t, again, 5)
	for i := range got2 {
		if g, w := *got2[i].Source.Binlog, *got[i].Source.Binlog; g != w {
			t.Errorf("change %d from GTIDs: %+v, want %+v", i, g, w)
		}
	}
}

func mustGTIDs(t *testing.T, s string) binlog.GTIDSet {
	t.Helper()
	set, err := binlog.ParseGTIDSet(s)
	if err != nil {
		t.Fatal(err)
	}
	return set
}
