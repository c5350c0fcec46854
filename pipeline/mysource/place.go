package mysource

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/binlog"
)

// Event header layout (MariaDB's binary log format v4), read here for the
// two things the binlog stream does not hand on: the GTID and server of
// the group a change is in, and the name of the file it is read from.
const (
	headerSize   = 19
	typeRotate   = byte(binlog.RotateEvent)
	typeGTID     = byte(binlog.GTIDEvent)
	offType      = 4
	offServerID  = 5
	offSize      = 9
	offLogPos    = 13
	crc32Trailer = 4
)

// places tells each change streamed where it is in the binary log
// (pipeline.Source.Binlog). It sees every event before the binlog stream
// decodes it (binlog.StreamOptions.Raw), and notes each GTID event: the
// GTID and server of a group, and where the group begins, which is the
// LSN of its changes and of its Commit. The stream may read ahead of the
// events it hands out, so the groups noted wait in order until Next
// passes them. It is for the goroutine of Next.
type places struct {
	file string // the file events are read from (the last ROTATE's)
	seq  uint32 // its sequence number
	// groups are the groups noted and not yet passed, oldest first,
	// from head on.
	groups []noted
	head   int
}

// noted is a GTID event noted: the group's GTID and where it begins (0
// when the event had no position), and the place of its changes once
// the first is handed out.
type noted struct {
	begin pipeline.LSN
	gtid  binlog.GTID
	file  string
	place *pipeline.BinlogPosition
}

// raw follows an event: a ROTATE names the file, a GTID starts a group.
func (p *places) raw(ev []byte) {
	if len(ev) < headerSize {
		return // the binlog stream reports it
	}
	switch ev[offType] {
	case typeRotate:
		body := ev[headerSize:]
		// A ROTATE the server makes up at the start of a stream comes
		// before the FORMAT_DESCRIPTION that says whether events carry
		// a checksum: a trailing CRC32 that matches is one.
		if n := len(ev) - crc32Trailer; n >= headerSize+8 &&
			crc32.ChecksumIEEE(ev[:n]) == binary.LittleEndian.Uint32(ev[n:]) {
			body = ev[headerSize:n]
		}
		if len(body) > 8 {
			p.file = string(body[8:])
			l, _ := (binlog.Position{File: p.file}).LSN()
			p.seq = uint32(l >> 32)
		}
	case typeGTID:
		body := ev[headerSize:]
		if len(body) < 12 {
			return
		}
		g := noted{file: p.file, gtid: binlog.GTID{Seq: binary.LittleEndian.Uint64(body), Domain: binary.LittleEndian.Uint32(body[8:]),
			Server: binary.LittleEndian.Uint32(ev[offServerID:])}}
		size, end := binary.LittleEndian.Uint32(ev[offSize:]), binary.LittleEndian.Uint32(ev[offLogPos:])
		if end >= size && end != 0 {
			g.begin = pipeline.LSN(uint64(p.seq)<<32 | uint64(end-size))
		}
		// Drop the groups passed once they are half: the stream reads
		// ahead, so the queue may never be empty at a GTID event.
		if p.head > 0 && p.head >= len(p.groups)/2 {
			n := copy(p.groups, p.groups[p.head:])
			clear(p.groups[n:])
			p.groups, p.head = p.groups[:n], 0
		}
		p.groups = append(p.groups, g)
	}
}

// pass drops the groups that begin before lsn (inclusive: also the one
// at lsn), which Next has handed out whole.
func (p *places) pass(lsn pipeline.LSN, inclusive bool) {
	for p.head < len(p.groups) {
		b := p.groups[p.head].begin
		if b > lsn || (b == lsn && !inclusive) {
			return
		}
		p.groups[p.head] = noted{}
		p.head++
	}
}

// set gives c its group's place: the GTID and server of the group's GTID
// event, the file and offset of its first event (its LSN's, which the
// binlog stream computed from the event's header). A change of a group
// not noted keeps none.
func (p *places) set(c *pipeline.Change) {
	if c.Source.Binlog != nil {
		return
	}
	p.pass(c.Source.LSN, false)
	if p.head == len(p.groups) {
		return
	}
	g := &p.groups[p.head]
	if g.begin != c.Source.LSN && (g.begin != 0 || int64(g.gtid.Seq) != c.Source.TxID) {
		return
	}
	if g.place == nil {
		g.place = &pipeline.BinlogPosition{GTID: g.gtid.String(), ServerID: g.gtid.Server,
			File: fileNamed(g.file, uint32(c.Source.LSN>>32)), Pos: uint32(c.Source.LSN)}
		if g.place.File == "" {
			g.place.Pos = 0
		}
	}
	c.Source.Binlog = g.place
}

// fileNamed returns the name of the binary log file whose sequence number
// is seq, in the series of file ("mariadb-bin.000041", 42 →
// "mariadb-bin.000042": MariaDB numbers its files with at least six
// digits); "" when file is "" or has no number.
func fileNamed(file string, seq uint32) string {
	if file == "" {
		return ""
	}
	if n, err := (binlog.Position{File: file}).LSN(); err == nil && uint32(n>>32) == seq {
		return file
	}
	for i := len(file) - 1; i >= 0; i-- {
		if file[i] == '.' {
			if i == len(file)-1 {
				return ""
			}
			return fmt.Sprintf("%s.%06d", file[:i], seq)
		}
	}
	return ""
}
