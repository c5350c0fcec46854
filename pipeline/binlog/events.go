package binlog

import (
	"bytes"
	"fmt"
)

// formatDescription is a FORMAT_DESCRIPTION event: how the events after
// it, up to the next one, are laid out.
type formatDescription struct {
	version       uint16
	serverVersion string
	headerLen     byte
	// postHeader holds the post-header length of each event type, from
	// type 1.
	postHeader []byte
	checksum   byte
}

func parseFormatDescription(body []byte, checksum byte) (*formatDescription, error) {
	r := reader{b: body}
	f := &formatDescription{version: r.u16(), checksum: checksum}
	f.serverVersion = string(bytes.TrimRight(r.take(50), "\x00"))
	r.u32() // created
	f.headerLen = r.u8()
	f.postHeader = append([]byte(nil), r.rest()...) // the event buffer is reused
	if err := r.err("FORMAT_DESCRIPTION"); err != nil {
		return nil, err
	}
	if f.version != 4 || f.headerLen != headerSize {
		return nil, fmt.Errorf("FORMAT_DESCRIPTION: binlog version %d with %d-byte headers; only version 4 (19-byte headers) is read", f.version, f.headerLen)
	}
	return f, nil
}

// postHeaderLen returns the post-header length of events of type t, def
// when the description has none for it.
func (f *formatDescription) postHeaderLen(t EventType, def int) int {
	if f == nil || int(t) < 1 || int(t) > len(f.postHeader) {
		return def
	}
	return int(f.postHeader[t-1])
}

// rotate is a ROTATE event: the log goes on in file at pos.
type rotate struct {
	pos  uint64
	file string
}

func parseRotate(body []byte) (rotate, error) {
	r := reader{b: body}
	ev := rotate{pos: r.u64(), file: string(r.rest())}
	if err := r.err("ROTATE"); err != nil || ev.file == "" {
		return ev, fmt.Errorf("ROTATE event of %d bytes: no file name", len(body))
	}
	return ev, nil
}

// GTID event flags (MariaDB).
const (
	gtidStandalone  byte = 1
	gtidGroupCommit byte = 2
	gtidPreparedXA  byte = 64
	gtidCompletedXA byte = 128
)

// gtidEvent is MariaDB's GTID event, which starts every event group.
type gtidEvent struct {
	gtid     GTID
	flags    byte
	commitID uint64
}

func parseGTID(body []byte, serverID uint32) (gtidEvent, error) {
	r := reader{b: body}
	ev := gtidEvent{gtid: GTID{Seq: r.u64(), Domain: r.u32(), Server: serverID}, flags: r.u8()}
	if ev.flags&gtidGroupCommit != 0 {
		ev.commitID = r.u64()
	}
	return ev, r.err("GTID")
}

// standalone reports a group with no terminating COMMIT or XID: one
// statement (DDL, or a statement of a non-transactional kind).
func (g gtidEvent) standalone() bool { return g.flags&gtidStandalone != 0 }

func parseGTIDList(body []byte) (GTIDSet, error) {
	r := reader{b: body}
	n := r.u32() & 0x0fffffff // the top 4 bits are flags
	if uint64(n)*16 > uint64(len(r.b)) {
		return nil, fmt.Errorf("GTID_LIST of %d GTIDs in %d bytes: %w", n, len(body), errShort)
	}
	set := GTIDSet{}
	for range n {
		g := GTID{Domain: r.u32(), Server: r.u32(), Seq: r.u64()}
		set = set.With(g)
	}
	return set, r.err("GTID_LIST")
}

// query is a QUERY event: a statement logged as text (BEGIN, COMMIT,
// DDL) and the default database it ran in.
type query struct {
	database string
	sql      string
	errCode  uint16
}

// parseQuery reads a QUERY event with a post-header of postLen bytes.
func parseQuery(body []byte, postLen int) (query, error) {
	r := reader{b: body}
	r.u32() // thread id
	r.u32() // execution time
	dbLen := int(r.u8())
	q := query{errCode: r.u16()}
	statusLen := 0
	if postLen >= 13 {
		statusLen = int(r.u16())
	}
	r.take(postLen - min(postLen, 13))
	r.take(statusLen) // status variables: session settings the text ran under
	q.database = string(r.take(dbLen))
	r.u8() // NUL
	q.sql = string(r.rest())
	return q, r.err("QUERY")
}

func parseXID(body []byte) (uint64, error) {
	r := reader{b: body}
	xid := r.u64()
	return xid, r.err("XID")
}
