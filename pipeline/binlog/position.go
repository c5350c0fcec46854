package binlog

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/s3bridge/s3bridge/pipeline"
)

// GTID is a MariaDB global transaction ID: domain-server-sequence.
type GTID struct {
	Domain uint32
	Server uint32
	Seq    uint64
}

// String returns MariaDB's text form, "0-1-100".
func (g GTID) String() string {
	return strconv.FormatUint(uint64(g.Domain), 10) + "-" + strconv.FormatUint(uint64(g.Server), 10) + "-" + strconv.FormatUint(g.Seq, 10)
}

// ParseGTID parses "domain-server-sequence".
func ParseGTID(s string) (GTID, error) {
	parts := strings.Split(strings.TrimSpace(s), "-")
	if len(parts) != 3 {
		return GTID{}, fmt.Errorf("parse GTID %q: want domain-server-sequence", s)
	}
	d, err1 := strconv.ParseUint(parts[0], 10, 32)
	srv, err2 := strconv.ParseUint(parts[1], 10, 32)
	seq, err3 := strconv.ParseUint(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return GTID{}, fmt.Errorf("parse GTID %q: want three decimal numbers", s)
	}
	return GTID{Domain: uint32(d), Server: uint32(srv), Seq: seq}, nil
}

// GTIDSet is a replication position in MariaDB's form: the last GTID of
// each replication domain, at most one per domain, sorted by domain (what
// @@gtid_binlog_pos and @slave_connect_state hold).
type GTIDSet []GTID

// ParseGTIDSet parses a comma-separated list such as "0-1-100,1-2-7"; an
// empty string is the empty set.
func ParseGTIDSet(s string) (GTIDSet, error) {
	var set GTIDSet
	for part := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		g, err := ParseGTID(part)
		if err != nil {
			return nil, err
		}
		if _, ok := set.Domain(g.Domain); ok {
			return nil, fmt.Errorf("parse GTID set %q: domain %d twice", s, g.Domain)
		}
		set = append(set, g)
	}
	slices.SortFunc(set, func(a, b GTID) int { return cmp.Compare(a.Domain, b.Domain) })
	return set, nil
}

// String returns the comma-separated form, "" for the empty set.
func (s GTIDSet) String() string {
	parts := make([]string, len(s))
	for i, g := range s {
		parts[i] = g.String()
	}
	return strings.Join(parts, ",")
}

// Domain returns the set's GTID of domain d.
func (s GTIDSet) Domain(d uint32) (GTID, bool) {
	for _, g := range s {
		if g.Domain == d {
			return g, true
		}
	}
	return GTID{}, false
}

// With returns a copy of s with g as its domain's GTID: the position after
// the event group g. s is not changed.
func (s GTIDSet) With(g GTID) GTIDSet {
	out := make(GTIDSet, 0, len(s)+1)
	done := false
	for _, e := range s {
		switch {
		case e.Domain == g.Domain:
			out, done = append(out, g), true
		case !done && e.Domain > g.Domain:
			out, done = append(out, g, e), true
		default:
			out = append(out, e)
		}
	}
	if !done {
		out = append(out, g)
	}
	return out
}

// Position is a place in a server's binary log: the GTID of the last event
// group of every domain (the position a replica resumes from, portable
// across servers of a replication topology), and the file and offset of
// the same place in this server's log (the fallback when the server has no
// GTIDs, and what LSN is computed from).
type Position struct {
	GTIDs GTIDSet
	File  string
	Pos   uint32
}

// String returns "0-1-100 mariadb-bin.000003:1234" (either part may be
// missing).
func (p Position) String() string {
	var parts []string
	if len(p.GTIDs) > 0 {
		parts = append(parts, p.GTIDs.String())
	}
	if p.File != "" {
		parts = append(parts, p.File+":"+strconv.FormatUint(uint64(p.Pos), 10))
	}
	return strings.Join(parts, " ")
}

// ParsePosition reads String's form: a GTID set, a file:offset, or both
// separated by a space; "" is the zero Position.
func ParsePosition(s string) (Position, error) {
	var p Position
	for part := range strings.FieldsSeq(s) {
		if i := strings.LastIndexByte(part, ':'); i >= 0 {
			if p.File != "" {
				return p, fmt.Errorf("two files")
			}
			off, err := strconv.ParseUint(part[i+1:], 10, 32)
			if err != nil || i == 0 {
				return p, fmt.Errorf("want file:offset, got %q", part)
			}
			p.File, p.Pos = part[:i], uint32(off)
			continue
		}
		if len(p.GTIDs) > 0 {
			return p, fmt.Errorf("two GTID sets")
		}
		set, err := ParseGTIDSet(part)
		if err != nil {
			return p, err
		}
		p.GTIDs = set
	}
	return p, nil
}

// IsZero reports whether p names no place at all.
func (p Position) IsZero() bool { return len(p.GTIDs) == 0 && p.File == "" }

// LSN maps the file and offset to a pipeline.LSN: the file's sequence
// number (the digits after its last '.') in the high 32 bits, the offset in
// the low 32. A later place in the same server's log has a larger LSN, as
// the pipeline package requires — with these limits:
//   - RESET MASTER numbers files from 1 again, and another server of the
//     topology (after a failover) numbers its files its own way: LSNs are
//     comparable only within one server's log between resets (a stream
//     refuses an LSN that goes backwards; the GTIDs stay the position to
//     resume from);
//   - an offset is 32 bits, as in the binary log's own event headers: a
//     file grown past 4 GiB by one huge transaction cannot be mapped.
func (p Position) LSN() (pipeline.LSN, error) {
	seq, err := fileSeq(p.File)
	if err != nil {
		return 0, err
	}
	return lsnOf(seq, p.Pos), nil
}

func lsnOf(seq uint32, pos uint32) pipeline.LSN { return pipeline.LSN(uint64(seq)<<32 | uint64(pos)) }

// fileSeq is a binary log file's sequence number: "mariadb-bin.000042" is 42.
func fileSeq(file string) (uint32, error) {
	i := strings.LastIndexByte(file, '.')
	if i < 0 || i == len(file)-1 {
		return 0, fmt.Errorf("binary log file name %q: no .NNNNNN sequence number", file)
	}
	n, err := strconv.ParseUint(file[i+1:], 10, 32)
	if err != nil {
		return 0, fmt.Errorf("binary log file name %q: sequence number: %w", file, err)
	}
	return uint32(n), nil
}
