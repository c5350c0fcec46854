package binlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/s3bridge/s3bridge/mysqlproto"
)

// EventType is a binary log event's type code.
type EventType byte

// The event types a stream reads or names. MariaDB's own are 160 and
// above.
const (
	QueryEvent             EventType = 2
	StopEvent              EventType = 3
	RotateEvent            EventType = 4
	IntvarEvent            EventType = 5
	RandEvent              EventType = 13
	UserVarEvent           EventType = 14
	FormatDescriptionEvent EventType = 15
	XIDEvent               EventType = 16
	TableMapEvent          EventType = 19
	WriteRowsEventV1       EventType = 23
	UpdateRowsEventV1      EventType = 24
	DeleteRowsEventV1      EventType = 25
	HeartbeatEvent         EventType = 27
	RowsQueryEvent         EventType = 29 // MySQL's ANNOTATE_ROWS
	WriteRowsEventV2       EventType = 30
	UpdateRowsEventV2      EventType = 31
	DeleteRowsEventV2      EventType = 32
	MySQLGTIDEvent         EventType = 33
	PartialUpdateRowsEvent EventType = 39 // MySQL 8's partial JSON updates
	AnnotateRowsEvent      EventType = 160
	BinlogCheckpointEvent  EventType = 161
	GTIDEvent              EventType = 162
	GTIDListEvent          EventType = 163
	StartEncryptionEvent   EventType = 164
	QueryCompressedEvent   EventType = 165
	WriteRowsCompressedV1  EventType = 166
	UpdateRowsCompressedV1 EventType = 167
	DeleteRowsCompressedV1 EventType = 168
	XAPrepareEvent         EventType = 169
)

var eventNames = map[EventType]string{
	QueryEvent: "QUERY", StopEvent: "STOP", RotateEvent: "ROTATE", IntvarEvent: "INTVAR", RandEvent: "RAND",
	UserVarEvent: "USER_VAR", FormatDescriptionEvent: "FORMAT_DESCRIPTION", XIDEvent: "XID",
	TableMapEvent: "TABLE_MAP", WriteRowsEventV1: "WRITE_ROWS_V1", UpdateRowsEventV1: "UPDATE_ROWS_V1",
	DeleteRowsEventV1: "DELETE_ROWS_V1", HeartbeatEvent: "HEARTBEAT", RowsQueryEvent: "ROWS_QUERY",
	WriteRowsEventV2: "WRITE_ROWS", UpdateRowsEventV2: "UPDATE_ROWS", DeleteRowsEventV2: "DELETE_ROWS",
	MySQLGTIDEvent: "MYSQL_GTID", PartialUpdateRowsEvent: "PARTIAL_UPDATE_ROWS",
	AnnotateRowsEvent: "ANNOTATE_ROWS", BinlogCheckpointEvent: "BINLOG_CHECKPOINT", GTIDEvent: "GTID",
	GTIDListEvent: "GTID_LIST", StartEncryptionEvent: "START_ENCRYPTION", QueryCompressedEvent: "QUERY_COMPRESSED",
	WriteRowsCompressedV1: "WRITE_ROWS_COMPRESSED_V1", UpdateRowsCompressedV1: "UPDATE_ROWS_COMPRESSED_V1",
	DeleteRowsCompressedV1: "DELETE_ROWS_COMPRESSED_V1", XAPrepareEvent: "XA_PREPARE",
}

func (t EventType) String() string {
	if n, ok := eventNames[t]; ok {
		return n
	}
	return fmt.Sprintf("event type %d", byte(t))
}

// headerSize is the size of the v4 event header.
const headerSize = 19

// Header flags.
const (
	flagArtificial uint16 = 0x20 // made up by the sending server, not in the log
)

// Checksum algorithms (FORMAT_DESCRIPTION, @@binlog_checksum).
const (
	checksumOff   byte = 0
	checksumCRC32 byte = 1
)

// Header is a binary log event's header.
type Header struct {
	Timestamp uint32
	Type      EventType
	ServerID  uint32
	// Size is the whole event's, header and checksum included.
	Size uint32
	// LogPos is the offset just past the event in its file; 0 for the
	// events a server makes up as it sends (and, from MariaDB 11.4, for
	// events of a transaction cache).
	LogPos uint32
	Flags  uint16
}

// ErrChecksum means an event's CRC32 does not match its bytes.
var ErrChecksum = errors.New("binlog event checksum mismatch")

// ChecksumError is a CRC32 mismatch at a place in the log.
type ChecksumError struct {
	File           string
	Pos            uint32 // the event's start offset
	Type           EventType
	Computed, Sent uint32
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("binlog event %s at %s:%d: CRC32 %08x, the event says %08x", e.Type, e.File, e.Pos, e.Computed, e.Sent)
}

func (e *ChecksumError) Unwrap() error { return ErrChecksum }

func parseHeader(ev []byte) (Header, error) {
	if len(ev) < headerSize {
		return Header{}, fmt.Errorf("binlog event of %d bytes: shorter than its header", len(ev))
	}
	h := Header{
		Timestamp: binary.LittleEndian.Uint32(ev),
		Type:      EventType(ev[4]),
		ServerID:  binary.LittleEndian.Uint32(ev[5:]),
		Size:      binary.LittleEndian.Uint32(ev[9:]),
		LogPos:    binary.LittleEndian.Uint32(ev[13:]),
		Flags:     binary.LittleEndian.Uint16(ev[17:]),
	}
	if int64(h.Size) != int64(len(ev)) {
		return h, fmt.Errorf("binlog %s event: header says %d bytes, packet has %d", h.Type, h.Size, len(ev))
	}
	return h, nil
}

// split returns an event's header and its body: the bytes between the
// header and the checksum, which it verifies when alg is CRC32. A
// FORMAT_DESCRIPTION event names its own algorithm, which it returns
// (alg otherwise); its body keeps the algorithm byte out too. file and
// at (the offset the event is expected at) name the place in errors.
func split(ev []byte, alg byte, file string, at uint32) (Header, []byte, byte, error) {
	h, err := parseHeader(ev)
	if err != nil {
		return h, nil, alg, err
	}
	body := ev[headerSize:]
	if h.Type == FormatDescriptionEvent {
		// binlog version 4 since MySQL 5.6.1/MariaDB 5.3: the algorithm
		// byte and room for a checksum end the event whatever the
		// algorithm.
		if len(body) < 5 {
			return h, nil, alg, fmt.Errorf("FORMAT_DESCRIPTION event of %d bytes", len(ev))
		}
		alg = body[len(body)-5]
		body = body[:len(body)-5]
	} else if alg == checksumCRC32 {
		if len(body) < 4 {
			return h, nil, alg, fmt.Errorf("binlog %s event of %d bytes: no room for its checksum", h.Type, len(ev))
		}
		body = body[:len(body)-4]
	}
	if alg == checksumCRC32 {
		n := len(ev) - 4
		sent := binary.LittleEndian.Uint32(ev[n:])
		if got := crc32.ChecksumIEEE(ev[:n]); got != sent {
			if h.LogPos >= h.Size && h.LogPos != 0 {
				at = h.LogPos - h.Size
			}
			return h, nil, alg, &ChecksumError{File: file, Pos: at, Type: h.Type, Computed: got, Sent: sent}
		}
	}
	return h, body, alg, nil
}

// reader reads the fields of an event body, little-endian, recording the
// first overrun instead of failing at each read.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.bad, r.b = true, nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u48() uint64 {
	if b := r.take(6); b != nil {
		return uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint16(b[4:]))<<32
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// lenenc reads a length-encoded integer (mysqlproto.ReadLenenc); 0xfb,
// NULL, is no length here.
func (r *reader) lenenc() uint64 {
	v, rest, null, err := mysqlproto.ReadLenenc(r.b)
	if err != nil || null {
		r.bad = true
		return 0
	}
	r.b = rest
	return v
}

// lenencBytes reads a length-encoded string.
func (r *reader) lenencBytes() []byte {
	n := r.lenenc()
	if n > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	return r.take(int(n))
}

func (r *reader) rest() []byte {
	v := r.b
	r.b = nil
	return v
}

var errShort = errors.New("event body truncated")

func (r *reader) err(what string) error {
	if r.bad {
		return fmt.Errorf("%s: %w", what, errShort)
	}
	return nil
}
