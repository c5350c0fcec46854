// Package pipeline holds the domain of s3bridge's streaming pipelines: the
// changes a source database emits (Change, Tx), the table schemas they
// conform to (TableSchema, Column, Type) and the rule that decides when a
// schema change starts a new schema version (Evolve).
//
// The package is source-neutral: PostgreSQL (pipeline/pgsource) and MariaDB
// (pipeline/binlog) both produce these values, and the file writers
// (format/avro, …) consume them. It imports no driver.
//
// # Values
//
// A Row holds one Go value per column of its TableSchema, in column order.
// nil is SQL NULL (or, for a column named in Change.UnchangedToast, a value
// the source did not send). Each Kind has exactly one Go type:
//
//	KindInt32        int32
//	KindInt64        int64
//	KindDecimal      *big.Rat, exact, representable at the column's scale
//	KindNumeric      string: the source's text form, incl. "NaN", "Infinity", "-Infinity"
//	KindFloat32      float32 (NaN and ±Inf allowed)
//	KindFloat64      float64 (NaN and ±Inf allowed)
//	KindBool         bool
//	KindString       string (valid UTF-8)
//	KindBytes        []byte
//	KindDate         time.Time at 00:00 UTC of that day
//	KindTime         time.Duration since midnight, microsecond precision
//	KindTimestamp    time.Time in UTC whose wall clock is the source's wall clock
//	KindTimestampTZ  time.Time in UTC (the instant)
//	KindUUID         string, canonical lower-case 8-4-4-4-12 form
//	KindJSON         string, the JSON text as the source gave it
//	KindEnum         string, the label
//	KindText         string, the source's text form of any other type
//	KindArray        []any of the element kind's values (nil elements are NULL); a
//	                 multi-dimensional array is a KindArray of KindArray, []any of []any
//
// Dates and timestamps at ±infinity are TimeInfinity and TimeNegInfinity.
package pipeline

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Op says what a Change did, with Debezium's letters.
type Op byte

// The operations. Their byte values are what the files carry in "op".
const (
	OpRead     Op = 'r' // a row read by a snapshot
	OpCreate   Op = 'c' // an insert
	OpUpdate   Op = 'u' // an update
	OpDelete   Op = 'd' // a delete
	OpTruncate Op = 't' // a truncate of the whole table
)

// String returns the one-letter code ("c", "u", …).
func (o Op) String() string { return string(rune(o)) }

// Valid reports whether o is one of the five operations.
func (o Op) Valid() bool {
	switch o {
	case OpRead, OpCreate, OpUpdate, OpDelete, OpTruncate:
		return true
	}
	return false
}

// LSN is a position in the source's log. For PostgreSQL it is the WAL
// position; a source with another kind of position maps it to a uint64 that
// grows with the log (the contract every consumer relies on: a later commit
// has a larger LSN).
type LSN uint64

// String formats l the way PostgreSQL does ("16/B374D848").
func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint32(l>>32), uint32(l)) }

// Hex returns l as 16 zero-padded hex digits, which sort like the LSNs
// themselves: the form used in object keys.
func (l LSN) Hex() string { return fmt.Sprintf("%016X", uint64(l)) }

// ParseLSN parses PostgreSQL's "X/Y" form.
func ParseLSN(s string) (LSN, error) {
	var hi, lo string
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			hi, lo = s[:i], s[i+1:]
			break
		}
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if hi == "" || lo == "" || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse LSN %q: want X/Y in hex", s)
	}
	return LSN(h<<32 | l), nil
}

// TimeInfinity and TimeNegInfinity stand for the ±infinity dates and
// timestamps some sources allow: the largest and smallest instants a
// microsecond count in an int64 can hold, which is also what the Avro files
// carry for them.
var (
	TimeInfinity    = time.UnixMicro(math.MaxInt64).UTC()
	TimeNegInfinity = time.UnixMicro(math.MinInt64).UTC()
)

// Row is one image of a row: one value per column of its schema, in column
// order (see the package comment for the Go type of each Kind).
type Row []any

// Source says where a Change came from.
type Source struct {
	// LSN is the commit LSN of the change's transaction (for a snapshot
	// read, the snapshot's consistent point). A MariaDB source has no
	// commit LSN: it maps the binary-log position of the transaction's
	// GTID event (its snapshot's seam for a read) to one, the file's
	// sequence number in the high 32 bits and the offset in the low 32
	// (binlog.Position.LSN), which orders changes as their commits within
	// one server's log; Binlog says the same in the server's own terms.
	LSN LSN
	// TxID is the source's transaction id; 0 when unknown.
	TxID int64
	// CommitTime is when the transaction committed; zero for snapshot reads.
	CommitTime time.Time
	// Database, Schema and Table name the table as the source spells them.
	Database, Schema, Table string
	// Snapshot is true for rows read by a snapshot (OpRead).
	Snapshot bool
	// Binlog is where a MariaDB/MySQL change is in the server's binary
	// log; nil for other sources (the files then hold null gtid, file,
	// pos and server_id). The changes of one transaction share one value,
	// which nothing may change.
	Binlog *BinlogPosition
}

// BinlogPosition is a change's place in a MariaDB/MySQL binary log.
type BinlogPosition struct {
	// GTID is the transaction's GTID ("0-1-42"); for a snapshot read, the
	// GTID position of its seam, one GTID per replication domain
	// ("0-1-42,1-2-7"). "" when unknown (the files hold null).
	GTID string
	// File and Pos are the binary log file and the offset of the
	// transaction's first event (its GTID event); for a snapshot read,
	// the seam, where the stream after it starts.
	File string
	Pos  uint32
	// ServerID is the server_id of the server that first wrote the
	// transaction (its GTID event's); 0 when unknown, as for snapshot
	// reads (the files hold null).
	ServerID uint32
}

// Change is one row-level event of a committed transaction.
//
// Contract, per Op:
//   - OpRead, OpCreate: After is the row, Before is nil.
//   - OpUpdate: After is the new row. Before is the old row when the source
//     sent one (PostgreSQL: REPLICA IDENTITY FULL gives every column, a key
//     change gives the key columns with the others nil), else nil.
//   - OpDelete: Before is the old row (at least its key columns), After nil.
//   - OpTruncate: Before and After are nil; one Change per truncated table.
//
// A column named in UnchangedToast kept its previous value, which the source
// did not send: its entry in After is nil and must not be read as NULL; a
// reader takes the value from the row's previous image.
type Change struct {
	Op     Op
	Schema *TableSchema // the version Before and After conform to; never nil
	Before Row
	After  Row
	Source Source
	// UnchangedToast lists the names of columns whose value is unchanged and
	// was not sent (PostgreSQL's TOAST 'u' marker), in column order.
	UnchangedToast []string
}

// Tx is a committed transaction: its changes in the order the source
// applied them.
type Tx struct {
	ID int64
	// BeginLSN is where the transaction's first record was read from the
	// stream; CommitLSN is its commit record; EndLSN is just past the commit
	// record — the position to confirm once the transaction is durable, and
	// the position a restarted stream resumes after.
	BeginLSN, CommitLSN, EndLSN LSN
	CommitTime                  time.Time
	Changes                     []Change
	// Messages are the transactional messages written inside the
	// transaction, in log order.
	Messages []Message
}

// Message is a message a client wrote into the log (PostgreSQL's
// pg_logical_emit_message). A transactional message belongs to the
// transaction around it; a non-transactional one stands alone.
type Message struct {
	LSN           LSN
	Transactional bool
	Prefix        string
	Content       []byte
}
