package binlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/s3bridge/s3bridge/pipeline"
)

// changesOf returns the changes among events.
func changesOf(evs []pipeline.Event) []pipeline.Change {
	var out []pipeline.Change
	for _, ev := range evs {
		if ev.Change != nil {
			out = append(out, *ev.Change)
		}
	}
	return out
}

// TestCaptured decodes the events TestEveryType captured from the server
// (testdata, made with go test -update) and compares the values with the
// server's texts captured with them.
func TestCaptured(t *testing.T) {
	c := loadCaptured(t)
	evs, d, err := decodeAll(c, c.Events)
	if err != nil {
		t.Fatal(err)
	}
	checkChanges(t, changesOf(evs), c.expected(), everyType)
	// Transactions: Begin, changes, Commit; the DDL last.
	var begins, commits int
	for _, ev := range evs {
		switch {
		case ev.Begin != nil:
			begins++
		case ev.Commit != nil:
			commits++
			if ev.Commit.EndLSN <= ev.Commit.CommitLSN {
				t.Errorf("commit %d: EndLSN %s, CommitLSN %s", ev.Commit.ID, ev.Commit.EndLSN, ev.Commit.CommitLSN)
			}
		}
	}
	last := evs[len(evs)-1].Message
	if begins != 4 || commits != 4 || last == nil || last.Prefix != DDLPrefix || string(last.Content) != "ALTER TABLE `every` DROP COLUMN `p`" {
		t.Errorf("%d begins, %d commits, last %+v", begins, commits, evs[len(evs)-1])
	}
	if p := d.position(); len(p.GTIDs) != 1 || p.File == "" || lsnOf(d.seq, p.Pos) != last.LSN {
		t.Errorf("position after the capture %s, DDL at %s", p, last.LSN)
	}
}

// TestCapturedChecksum: a changed byte is a checksum error naming the
// event's place.
func TestCapturedChecksum(t *testing.T) {
	c := loadCaptured(t)
	events := cloneEvents(c.Events)
	for _, ev := range events {
		h, _ := parseHeader(ev)
		if h.Type != WriteRowsEventV1 {
			continue
		}
		ev[headerSize+12] ^= 0x40
		_, d, err := decodeAll(c, events)
		var ce *ChecksumError
		if !errors.As(err, &ce) || !errors.Is(err, ErrChecksum) || ce.File != d.file || ce.Pos != h.LogPos-h.Size || ce.Type != WriteRowsEventV1 {
			t.Errorf("%v (%+v), want a checksum error at %s:%d", err, ce, d.file, h.LogPos-h.Size)
		}
		return
	}
	t.Fatal("no WRITE_ROWS event captured")
}

// TestCapturedV2: MySQL's v2 rows events (an extra-data field after the
// flags) decode as MariaDB's v1.
func TestCapturedV2(t *testing.T) {
	c := loadCaptured(t)
	var events [][]byte
	for _, ev := range c.Events {
		h, _ := parseHeader(ev)
		if _, ok := rowsOp(h.Type); ok {
			// header, table id and flags, extra data length 2 (none),
			// the rest.
			v2 := append(bytes.Clone(ev[:headerSize+8]), 2, 0)
			v2 = append(v2, ev[headerSize+8:]...)
			v2[4] = byte(h.Type - WriteRowsEventV1 + WriteRowsEventV2)
			ev = reseal(v2)
		}
		events = append(events, ev)
	}
	evs, _, err := decodeAll(c, events)
	if err != nil {
		t.Fatal(err)
	}
	checkChanges(t, changesOf(evs), c.expected(), everyType)
}

// TestCapturedUnknown: events of types the package doesn't know are
// skipped by their length, inside a transaction and between them.
func TestCapturedUnknown(t *testing.T) {
	c := loadCaptured(t)
	unknown := func(logPos uint32) []byte {
		ev := make([]byte, headerSize+7+4)
		ev[4] = 200
		binary.LittleEndian.PutUint32(ev[13:], logPos)
		copy(ev[headerSize:], "unknown")
		return reseal(ev)
	}
	var events [][]byte
	for _, ev := range c.Events {
		h, _ := parseHeader(ev)
		if h.Type == GTIDEvent {
			events = append(events, unknown(0))
		}
		events = append(events, ev)
		if h.Type == TableMapEvent {
			events = append(events, unknown(0))
		}
	}
	evs, _, err := decodeAll(c, events)
	if err != nil {
		t.Fatal(err)
	}
	checkChanges(t, changesOf(evs), c.expected(), everyType)
}

// TestCapturedNoNames: a TABLE_MAP without its optional metadata (a
// server without binlog_row_metadata=FULL) is ErrNoColumnNames.
func TestCapturedNoNames(t *testing.T) {
	c := loadCaptured(t)
	events := cloneEvents(c.Events)
	for i, ev := range events {
		h, body, _, _ := split(ev, checksumCRC32, "", 0)
		if h.Type != TableMapEvent {
			continue
		}
		tm, err := parseTableMap(body, 8)
		if err != nil {
			t.Fatal(err)
		}
		// The optional metadata ends the body: cut it.
		r := reader{b: body}
		r.take(8)
		r.take(int(r.u8()) + 1)
		r.take(int(r.u8()) + 1)
		n := int(r.lenenc())
		r.take(n)
		r.lenencBytes()
		r.take((n + 7) / 8)
		cut := headerSize + len(body) - len(r.b)
		events[i] = reseal(append(ev[:cut:cut], 0, 0, 0, 0))
		if _, _, err := decodeAll(c, events); !errors.Is(err, ErrNoColumnNames) {
			t.Errorf("TABLE_MAP of %s without names: %v", tm.table, err)
		}
		return
	}
}

// TestCapturedTruncated: every event cut short is an error, never a
// panic.
func TestCapturedTruncated(t *testing.T) {
	c := loadCaptured(t)
	for i, ev := range c.Events {
		h, _ := parseHeader(ev)
		for _, n := range []int{headerSize - 1, headerSize + 1, headerSize + 9, len(ev) / 2, len(ev) - 5} {
			if n < 0 || n >= len(ev) {
				continue
			}
			events := cloneEvents(c.Events[:i+1])
			events[i] = reseal(append(events[i][:n:n], 0, 0, 0, 0)[:max(n+4, headerSize+4)])
			if _, _, err := decodeAll(c, events); err == nil && (h.Type == TableMapEvent || h.Type == WriteRowsEventV1 || h.Type == GTIDEvent) {
				t.Errorf("%s event cut to %d bytes decodes", h.Type, n)
			}
		}
	}
}

// FuzzDecode feeds the start of the captured stream (up to its first
// TABLE_MAP), the fuzzer's event, and the next events (which a fuzzed
// FORMAT_DESCRIPTION or TABLE_MAP then governs): any input is an error or
// events, never a panic or a hang.
func FuzzDecode(f *testing.F) {
	c := loadCaptured(f)
	var prefix, after [][]byte
	for i, ev := range c.Events {
		if h, _ := parseHeader(ev); h.Type == TableMapEvent && prefix == nil {
			prefix, after = c.Events[:i+1], c.Events[i+1:min(i+3, len(c.Events))]
		}
		if len(ev) < 4096 {
			f.Add(ev)
		}
	}
	f.Fuzz(func(t *testing.T, ev []byte) {
		if len(ev) >= headerSize+4 {
			ev = reseal(bytes.Clone(ev))
		}
		decodeAll(c, append(append(cloneEvents(prefix), ev), after...))
	})
}
