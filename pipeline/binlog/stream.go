package binlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/s3bridge/s3bridge/mysqlproto"
	"github.com/s3bridge/s3bridge/pipeline"
)

// COM_BINLOG_DUMP flags.
const (
	dumpNonBlock       = 1 // end the stream at the end of the log
	dumpSendAnnotation = 2 // send ANNOTATE_ROWS events
)

// maxEvent bounds an event: max_allowed_packet's ceiling (1 GiB) and
// room for the status byte.
const maxEvent = 1<<30 + 1<<10

// StreamOptions say where and how to stream.
type StreamOptions struct {
	// Start is the position to stream from: the pipeline's checkpoint
	// (Durable of an earlier stream) or, for a new pipeline, the position
	// its snapshot is consistent with. Its GTIDs are used when it has
	// any (the stream starts after the group each names, per domain);
	// otherwise its file and offset (an offset where an event starts).
	// Zero means the server's current position.
	Start Position
	// Known are the latest schema versions the pipeline has written, so
	// versions go on counting across restarts instead of starting at 1.
	Known []pipeline.TableSchema
	// Versions, when set, numbers the schema versions instead (Known is
	// then ignored): the pipeline shares it with its snapshots.
	Versions *pipeline.Versions
	// OnSchema, when set, is called (from Next) with every new schema
	// version before the first change that uses it.
	OnSchema func(*pipeline.TableSchema)
	// OnDDL, when set, is called (from Next) with each statement logged
	// in a group of its own, before the Message that stands for it.
	OnDDL func(DDL)
	// Include, when set, says which tables' changes to decode: the rows
	// of the others are skipped unread (their transactions still make
	// Begin and Commit events, so positions move on). DDL Messages are
	// not filtered: a statement may name tables of any database.
	Include func(database, table string) bool
	// Databases, when set, are the databases whose tables Include may
	// take. A DML statement logged as text (a session with binlog_format
	// STATEMENT or MIXED) stops the stream — its rows can't be known —
	// unless it neither runs in one of these databases nor names one: then
	// it is skipped as another database's. Nil: every such statement stops
	// the stream. (A trigger of another database's table that writes into
	// these escapes that check; binlog_format=ROW, which create checks,
	// logs its rows.)
	Databases []string
	// Heartbeat is how often the server sends a heartbeat while it has
	// nothing else to send; default 5s. A stream that hears nothing for
	// three periods fails.
	Heartbeat time.Duration
	// Annotate asks for ANNOTATE_ROWS events (the statement behind the
	// rows; binlog_annotate_row_events=ON). They are read and skipped.
	Annotate bool
	// NonBlocking makes the server end the stream at the end of its log:
	// Next then returns io.EOF. For tools and tests.
	NonBlocking bool
	// Raw, when set, is given every event's bytes (header to checksum)
	// before they are decoded; the slice is valid during the call only.
	Raw func(event []byte)
}

// Stream reads a server's binary log as pipeline events (see
// pipeline.Event). Next and Close are for one goroutine; Confirm and
// Durable may be called from any.
//
// Positions: a transaction's BeginLSN and CommitLSN are the position of
// its GTID event (the log holds a transaction whole, written at commit,
// so this orders transactions as their commits do); EndLSN is the end of
// its XID (or COMMIT) event. See Position.LSN for the mapping and its
// limits. A statement the log holds as text (DDL) is a pipeline.Message
// with Prefix DDLPrefix. Tx.ID is the GTID's sequence number and
// CommitTime the GTID event's timestamp (whole seconds).
//
// An error ends the stream: Next returns it again; Close it and start
// another from Durable.
type Stream struct {
	src       *Source
	c         *conn
	dec       *decoder
	start     Position
	heartbeat time.Duration
	raw       func([]byte)
	next      int // the next of dec.out to return
	err       error

	mu      sync.Mutex
	marks   []mark // the groups read and not confirmed, in order
	durable Position

	armedFor  context.Context
	stopWatch func() bool
	deadline  time.Time // the read deadline set last
}

// Stream connects, registers as a replica and starts streaming at
// opts.Start. A start the server no longer has fails, now or at the first
// Next, with ErrLogUnavailable.
func (s *Source) Stream(ctx context.Context, opts StreamOptions) (*Stream, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.stream(ctx, c, opts)
	if err != nil {
		c.close()
		return nil, err
	}
	return st, nil
}

func (s *Source) stream(ctx context.Context, c *conn, opts StreamOptions) (*Stream, error) {
	rows, err := c.query(ctx, "SELECT @@server_id, @@global.binlog_checksum")
	if err != nil {
		return nil, err
	}
	if rows[0][0] == strconv.FormatUint(uint64(s.cfg.ServerID), 10) {
		return nil, fmt.Errorf("the server's own server_id is %s, the id this client registers with: choose another (server_id= in the URL)", rows[0][0])
	}
	alg := checksumOff
	if strings.EqualFold(rows[0][1], "CRC32") {
		alg = checksumCRC32
	}
	colls, err := collations(ctx, c)
	if err != nil {
		return nil, err
	}
	start := opts.Start
	if start.IsZero() {
		if start, err = current(ctx, c); err != nil {
			return nil, err
		}
	}
	hb := opts.Heartbeat
	if hb <= 0 {
		hb = 5 * time.Second
	}
	setup := []string{
		"SET @master_binlog_checksum = @@global.binlog_checksum",
		"SET @mariadb_slave_capability = 4", // MARIA_SLAVE_CAPABILITY_GTID
		"SET @master_heartbeat_period = " + strconv.FormatInt(hb.Nanoseconds(), 10),
	}
	if len(start.GTIDs) > 0 {
		setup = append(setup, "SET @slave_connect_state = '"+start.GTIDs.String()+"'",
			"SET @slave_gtid_strict_mode = 0", "SET @slave_gtid_ignore_duplicates = 0")
	}
	if err := c.exec(ctx, setup...); err != nil {
		return nil, fmt.Errorf("register as a replica: %w", err)
	}
	if err := s.register(ctx, c); err != nil {
		return nil, err
	}
	var flags uint16
	if opts.Annotate {
		flags |= dumpSendAnnotation
	}
	if opts.NonBlocking {
		flags |= dumpNonBlock
	}
	file, pos := start.File, start.Pos
	if len(start.GTIDs) > 0 {
		file, pos = "", 4 // the server finds the place from @slave_connect_state
	}
	if pos < 4 {
		pos = 4
	}
	p := binary.LittleEndian.AppendUint32([]byte{mysqlproto.ComBinlogDump}, pos)
	p = binary.LittleEndian.AppendUint16(p, flags)
	p = binary.LittleEndian.AppendUint32(p, s.cfg.ServerID)
	p = append(p, file...)
	if err := c.command(p); err != nil {
		return nil, fmt.Errorf("request the binary log from %s: %w", start, err)
	}
	versions := opts.Versions
	if versions == nil {
		versions = pipeline.NewVersions(opts.Known)
	}
	st := &Stream{src: s, c: c, start: start, heartbeat: hb, raw: opts.Raw, durable: start}
	st.dec = newDecoder(s.cfg.Database, colls, versions, start, alg)
	st.dec.onSchema, st.dec.onDDL, st.dec.include, st.dec.databases = opts.OnSchema, opts.OnDDL, opts.Include, opts.Databases
	st.dec.onGroup = st.mark
	return st, nil
}

// register sends COM_REGISTER_SLAVE: the server lists the client among
// its replicas (SHOW SLAVE HOSTS) under its server id.
func (s *Source) register(ctx context.Context, c *conn) error {
	host, _ := os.Hostname()
	host = "s3bridge:" + s.name + "@" + host
	p := binary.LittleEndian.AppendUint32([]byte{mysqlproto.ComRegisterSlave}, s.cfg.ServerID)
	for _, f := range []string{host, s.cfg.User, ""} { // no password is sent
		f = f[:min(len(f), 255)]
		p = append(append(p, byte(len(f))), f...)
	}
	p = binary.LittleEndian.AppendUint16(p, 0) // port
	p = binary.LittleEndian.AppendUint32(p, 0) // replication rank
	p = binary.LittleEndian.AppendUint32(p, 0) // master id
	if err := c.command(p); err != nil {
		return fmt.Errorf("register as replica %d: %w", s.cfg.ServerID, err)
	}
	_, ans, err := c.r.Packet(maxOwnPacket)
	if err == nil && mysqlproto.IsErr(ans) {
		err = serverError(ans)
	}
	if err != nil {
		return fmt.Errorf("register as replica %d: %w", s.cfg.ServerID, err)
	}
	return nil
}

// Start returns the position the stream started at.
func (st *Stream) Start() Position { return st.start }

// Position returns the position after the last event group Next has
// read: where a stream started now would go on from.
func (st *Stream) Position() Position { return st.dec.position() }

// mark records the end of an event group for Confirm.
func (st *Stream) mark(m mark) {
	st.mu.Lock()
	st.marks = append(st.marks, m)
	st.mu.Unlock()
}

// Confirm records that everything up to lsn (a transaction's EndLSN, a
// DDL Message's LSN) is durable: Durable moves to the position after the
// last event group that ends there or before. It never moves back. The
// stream keeps a small record of every group read until it is confirmed:
// a caller confirms as it goes.
func (st *Stream) Confirm(lsn pipeline.LSN) {
	st.mu.Lock()
	defer st.mu.Unlock()
	var n int
	st.durable, n = st.positionAt(lsn)
	st.marks = append(st.marks[:0], st.marks[n:]...)
}

// PositionAt returns the position Confirm(lsn) would make durable,
// confirming nothing: the position after the last event group read that
// ends at lsn or before, never before Durable.
func (st *Stream) PositionAt(lsn pipeline.LSN) Position {
	st.mu.Lock()
	defer st.mu.Unlock()
	p, _ := st.positionAt(lsn)
	return p
}

// positionAt is PositionAt and the number of marks it passed. The caller
// holds mu.
func (st *Stream) positionAt(lsn pipeline.LSN) (Position, int) {
	p, n := st.durable, 0
	for n < len(st.marks) && st.marks[n].end <= lsn {
		m := st.marks[n]
		p = Position{GTIDs: p.GTIDs.With(m.gtid), File: m.file, Pos: m.pos}
		n++
	}
	return p, n
}

// Durable returns the position after the last confirmed group (the start
// until one is): the checkpoint to stream from after a restart.
func (st *Stream) Durable() Position {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.durable
}

// Next returns the next event.
func (st *Stream) Next(ctx context.Context) (pipeline.Event, error) {
	for {
		if out := st.dec.out; st.next < len(out) {
			ev := out[st.next]
			st.next++
			return ev, nil
		}
		if st.err != nil {
			return pipeline.Event{}, st.err
		}
		clear(st.dec.out)
		st.dec.out, st.next = st.dec.out[:0], 0
		if err := st.read(ctx); err != nil {
			// Events decoded before the error go out first.
			st.err = err
		}
	}
}

// read reads and decodes one event.
func (st *Stream) read(ctx context.Context) error {
	if err := st.arm(ctx); err != nil {
		return err
	}
	_, p, err := st.c.r.Packet(maxEvent)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("read the binary log: %w", ctx.Err())
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("read the binary log: nothing from the server, not even a heartbeat, in %s", 3*st.heartbeat)
		}
		return fmt.Errorf("read the binary log: %w", err)
	}
	switch {
	case len(p) == 0:
		return fmt.Errorf("read the binary log: empty packet")
	case mysqlproto.IsErr(p):
		return fmt.Errorf("read the binary log at %s: %w", st.dec.position(), serverErr(serverError(p)))
	case mysqlproto.IsEOF(p):
		return io.EOF
	case p[0] != mysqlproto.HeaderOK:
		return fmt.Errorf("read the binary log: packet with status %#x", p[0])
	}
	if st.raw != nil {
		st.raw(p[1:])
	}
	return st.dec.decode(p[1:])
}

// arm bounds the next read: by three heartbeat periods (moved on at most
// once a period, so a busy stream sets no deadline per event), and by ctx
// (whose end moves the deadline into the past).
func (st *Stream) arm(ctx context.Context) error {
	if ctx != st.armedFor {
		if st.stopWatch != nil {
			st.stopWatch()
		}
		nc := st.c.nc
		st.stopWatch = context.AfterFunc(ctx, func() { nc.SetReadDeadline(time.Unix(1, 0)) })
		st.armedFor = ctx
	}
	if now := time.Now(); st.deadline.Sub(now) < 2*st.heartbeat {
		st.deadline = now.Add(3 * st.heartbeat)
		if err := st.c.nc.SetReadDeadline(st.deadline); err != nil {
			return fmt.Errorf("read the binary log: %w", err)
		}
	}
	// Read after the deadline was set: an end of ctx since then is seen
	// here, a later one moves the deadline into the past.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("read the binary log: %w", err)
	}
	return nil
}

// Close closes the connection; the server ends its side of the stream.
func (st *Stream) Close(ctx context.Context) error {
	if st.stopWatch != nil {
		st.stopWatch()
	}
	return st.c.nc.Close()
}

var _ pipeline.EventSource = (*Stream)(nil)
