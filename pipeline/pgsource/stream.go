package pgsource

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/s3bridge/s3bridge/pipeline"
)

// StreamOptions say where and how to stream.
type StreamOptions struct {
	// Start is the position to stream from: the pipeline's checkpoint (the
	// EndLSN of the last durable transaction) or, for a new pipeline, the
	// slot's ConsistentPoint. Zero means the slot's confirmed_flush_lsn.
	// A Start before confirmed_flush_lsn is a *BehindSlotError.
	Start pipeline.LSN
	// Known are the latest schema versions the pipeline has written, so
	// versions go on counting across restarts instead of starting at 1.
	Known []pipeline.TableSchema
	// Versions, when set, numbers the schema versions instead (Known is
	// then ignored): the pipeline shares it with the snapshots it takes
	// while streaming.
	Versions *pipeline.Versions
	// StatusInterval is how often a standby status update is sent even
	// when the server asks for none; default 10s. It must stay well below
	// the server's wal_sender_timeout (default 60s).
	StatusInterval time.Duration
	// OnSchema, when set, is called (from Next) with every new schema
	// version before the first change that uses it.
	OnSchema func(*pipeline.TableSchema)
}

// Stream reads a slot's changes as pipeline events (see pipeline.Event).
// Next and Close are for one goroutine; Confirm may be called from any.
//
// The server waits for a reply to its keepalives: the caller must keep
// calling Next (at least every StatusInterval) while the stream is open —
// replies, like periodic status updates, are sent from Next.
type Stream struct {
	src      *Source
	conn     *pgconn.PgConn // replication connection
	catalog  *pgconn.PgConn // ordinary connection for pg_type lookups
	dec      *decoder
	start    pipeline.LSN
	durable  atomic.Uint64
	interval time.Duration
	next     time.Time // when the next status update is due
	pending  []pipeline.Event
	// A receive waits until next at most, by a read deadline on the
	// connection, and a context.AfterFunc of the caller's context (armedFor)
	// cuts it short. Both are set once per status interval and per context,
	// where a ReceiveMessage with a context registers and removes an
	// AfterFunc per message: a tenth of a busy stream's time.
	armedFor   context.Context
	armedUntil time.Time
	stopWatch  func() bool
	// check says the clock is to be read for a status update: after a
	// receive timed out.
	check bool
	// busy says the connection wakes the reader for lowWater bytes only
	// (see setBusy); got that a message came since the last deadline.
	busy, got bool
	// rcvlowat sets the connection's SO_RCVLOWAT; nil where it can't.
	rcvlowat     func(n int) error
	rcvlowatInit bool
}

// Stream opens a replication connection and starts streaming the slot at
// opts.Start. It checks first that the slot exists (else ErrSlotMissing)
// and that Start is not behind its confirmed_flush_lsn.
func (s *Source) Stream(ctx context.Context, opts StreamOptions) (*Stream, error) {
	catalog, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.waitInactive(ctx, catalog); err != nil {
		catalog.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	st, err := s.slotState(ctx, catalog)
	if err != nil {
		catalog.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	start := opts.Start
	if start == 0 {
		start = st.ConfirmedFlush
	}
	if start < st.ConfirmedFlush {
		catalog.Close(context.WithoutCancel(ctx))
		return nil, &BehindSlotError{Slot: s.name, Start: start, Confirmed: st.ConfirmedFlush}
	}
	conn, err := s.connectReplication(ctx)
	if err != nil {
		catalog.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	// publication_names is parsed as a list of identifiers: quote it.
	args := []string{"proto_version '1'", "publication_names '" + s.quotedName() + "'", "messages 'true'"}
	err = pglogrepl.StartReplication(ctx, conn, s.quotedName(), pglogrepl.LSN(start),
		pglogrepl.StartReplicationOptions{Mode: pglogrepl.LogicalReplication, PluginArgs: args})
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		catalog.Close(context.WithoutCancel(ctx))
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42704" { // undefined_object: dropped meanwhile
			return nil, fmt.Errorf("start replication from slot %s: %w: %v", s.name, ErrSlotMissing, err)
		}
		return nil, fmt.Errorf("start replication from slot %s at %s: %w", s.name, start, err)
	}
	str := &Stream{src: s, conn: conn, catalog: catalog, start: start,
		interval: opts.StatusInterval}
	if str.interval <= 0 {
		str.interval = 10 * time.Second
	}
	str.durable.Store(uint64(start))
	types := newTypeResolver(func(context.Context) (*pgconn.PgConn, error) { return catalog, nil })
	versions := opts.Versions
	if versions == nil {
		versions = pipeline.NewVersions(opts.Known)
	}
	str.dec = newDecoder(s.cfg.Database, types, versions)
	str.dec.onSchema = opts.OnSchema
	return str, nil
}

// Start returns the position the stream started at.
func (st *Stream) Start() pipeline.LSN { return st.start }

// Confirm records that everything up to lsn (a transaction's EndLSN) is
// durable. The next standby status update reports it as written, flushed
// and applied, which lets the server advance the slot's confirmed_flush_lsn
// and recycle WAL. Confirm never moves the position backwards; positions
// only received, never confirmed, are never reported.
func (st *Stream) Confirm(lsn pipeline.LSN) {
	for {
		cur := st.durable.Load()
		if uint64(lsn) <= cur || st.durable.CompareAndSwap(cur, uint64(lsn)) {
			return
		}
	}
}

// Durable returns the highest confirmed position.
func (st *Stream) Durable() pipeline.LSN { return pipeline.LSN(st.durable.Load()) }

// sendStatus reports the durable position. All three positions are set
// explicitly: pglogrepl fills a zero flush position with the write position,
// and the flush position is what the server takes as confirmed.
func (st *Stream) sendStatus(ctx context.Context, replyRequested bool) error {
	d := pglogrepl.LSN(st.durable.Load())
	err := pglogrepl.SendStandbyStatusUpdate(ctx, st.conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: d, WALFlushPosition: d, WALApplyPosition: d,
		ClientTime: time.Now(), ReplyRequested: replyRequested,
	})
	if err != nil {
		return fmt.Errorf("send standby status to slot %s: %w", st.src.name, err)
	}
	st.next = time.Now().Add(st.interval)
	return nil
}

// Next returns the next event. It answers keepalives and sends periodic
// status updates while it waits.
func (st *Stream) Next(ctx context.Context) (pipeline.Event, error) {
	for {
		if len(st.pending) > 0 {
			ev := st.pending[0]
			st.pending = st.pending[1:]
			return ev, nil
		}
		if st.check || st.next.IsZero() {
			st.check = false
			if !time.Now().Before(st.next) {
				if err := st.sendStatus(ctx, false); err != nil {
					return pipeline.Event{}, err
				}
			}
		}
		if err := st.arm(ctx); err != nil {
			return pipeline.Event{}, err
		}
		msg, err := st.conn.ReceiveMessage(context.Background())
		if err != nil {
			if ctx.Err() != nil {
				return pipeline.Event{}, fmt.Errorf("receive from slot %s: %w", st.src.name, ctx.Err())
			}
			if pgconn.Timeout(err) {
				// A status update may be due, or a busy stream's tick
				// passed (it goes quiet after a tick without a message),
				// or the deadline is an earlier context's end: set it
				// again.
				st.check, st.armedUntil = true, time.Time{}
				if st.busy && !st.got {
					st.setBusy(false)
				}
				st.got = false
				continue
			}
			return pipeline.Event{}, fmt.Errorf("receive from slot %s: %w", st.src.name, err)
		}
		st.got = true
		if !st.busy {
			st.setBusy(true)
		}
		switch msg := msg.(type) {
		case *pgproto3.CopyData:
			ev, ok, err := st.copyData(ctx, msg.Data)
			if err != nil || ok {
				return ev, err
			}
		case *pgproto3.ErrorResponse:
			err := pgconn.ErrorResponseToPgError(msg)
			if err.Code == "42704" {
				return pipeline.Event{}, fmt.Errorf("stream from slot %s: %w: %v", st.src.name, ErrSlotMissing, err)
			}
			return pipeline.Event{}, fmt.Errorf("stream from slot %s: %w", st.src.name, err)
		case *pgproto3.CopyDone:
			return pipeline.Event{}, fmt.Errorf("stream from slot %s: server ended the stream", st.src.name)
		}
	}
}

// arm makes the next receive end at the next status update at most, or
// when ctx ends. A receive reads the connection only once its buffer is
// empty, every few kilobytes of a busy stream, so a deadline that passed
// while messages came from the buffer ends the next read at once.
func (st *Stream) arm(ctx context.Context) error {
	if ctx != st.armedFor {
		if st.stopWatch != nil {
			st.stopWatch()
		}
		nc := st.conn.Conn()
		st.stopWatch = context.AfterFunc(ctx, func() { nc.SetReadDeadline(time.Unix(1, 0)) })
		st.armedFor, st.armedUntil = ctx, time.Time{}
	}
	if st.armedUntil.IsZero() || (!st.busy && !st.armedUntil.Equal(st.next)) {
		until := st.next
		if tick := time.Now().Add(busyWait); st.busy && tick.Before(until) {
			until = tick
		}
		if err := st.conn.Conn().SetReadDeadline(until); err != nil {
			return fmt.Errorf("receive from slot %s: %w", st.src.name, err)
		}
		st.armedUntil = until
	}
	// Read after the deadline was set: an end of ctx since then is seen
	// here, a later one moves the deadline into the past.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("receive from slot %s: %w", st.src.name, err)
	}
	return nil
}

// The server sends each message the moment it is decoded, one TCP segment
// each while the receive window is open, and a reader woken by every
// arrival reads one or two messages per wake-up: a system call and a
// scheduler round on both sides (in a virtual machine, exits too), which
// cost more than decoding the messages — on a 2-core VM, more than half of
// the agent's and of the walsender's time.
//
// So while the stream is busy, the socket's SO_RCVLOWAT makes the kernel
// wake the reader only once lowWater bytes are there (or the receive
// window is about to close), and a read deadline every busyWait takes what
// came meanwhile: no message waits longer. A tick with no message puts
// the stream back to waking on every arrival, which is as fast for a quiet
// stream. From a server on the same host (a loopback address), the receive
// buffer is also kept at loopbackBuffer instead of growing to megabytes:
// the window then closes while the reader is busy, and the server's sends
// wait in its own buffer and go out in large segments, which halves its
// cost per message. Over a real network the buffer must cover the link's
// bandwidth-delay product: it is left to the kernel.
const (
	lowWater       = 64 << 10
	busyWait       = 10 * time.Millisecond
	loopbackBuffer = 128 << 10 // the kernel doubles it
)

// setBusy switches SO_RCVLOWAT between lowWater (busy) and 1. Where that
// can't be set (not TCP, or refused), the stream stays as it is.
func (st *Stream) setBusy(busy bool) {
	if !st.rcvlowatInit {
		st.rcvlowatInit, st.rcvlowat = true, rcvlowat(st.conn.Conn())
	}
	if st.rcvlowat == nil {
		return
	}
	n := 1
	if busy {
		n = lowWater
	}
	if err := st.rcvlowat(n); err != nil {
		st.rcvlowat = nil
		return
	}
	st.busy, st.armedUntil = busy, time.Time{}
}

// rcvlowat returns a function that sets the SO_RCVLOWAT of c's TCP socket
// (under TLS, of the socket below), or nil for another kind of connection:
// a Unix socket wakes its reader on every arrival whatever SO_RCVLOWAT
// says. A socket to a loopback address gets its receive buffer set to
// loopbackBuffer the first time.
func rcvlowat(c net.Conn) func(int) error {
	if u, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = u.NetConn()
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	set := func(opt, n int) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, n) })
		return cmp.Or(err, serr)
	}
	local := false
	if a, ok := tc.RemoteAddr().(*net.TCPAddr); ok {
		local = a.IP.IsLoopback()
	}
	return func(n int) error {
		if local {
			local = false
			// Best effort: a refusal leaves the kernel's tuning.
			_ = set(syscall.SO_RCVBUF, loopbackBuffer)
		}
		return set(syscall.SO_RCVLOWAT, n)
	}
}

func (st *Stream) copyData(ctx context.Context, data []byte) (pipeline.Event, bool, error) {
	if len(data) == 0 {
		return pipeline.Event{}, false, nil
	}
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return pipeline.Event{}, false, fmt.Errorf("slot %s keepalive: %w", st.src.name, err)
		}
		// Answer with the durable position — never ka.ServerWALEnd.
		if ka.ReplyRequested {
			return pipeline.Event{}, false, st.sendStatus(ctx, false)
		}
	case pglogrepl.XLogDataByteID:
		xld, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return pipeline.Event{}, false, fmt.Errorf("slot %s XLogData: %w", st.src.name, err)
		}
		if len(xld.WALData) > 0 && xld.WALData[0] == byte(pglogrepl.MessageTypeTruncate) {
			m := &pglogrepl.TruncateMessage{}
			if err := m.Decode(xld.WALData[1:]); err != nil {
				return pipeline.Event{}, false, fmt.Errorf("slot %s truncate at %s: %w", st.src.name, xld.WALStart, err)
			}
			evs, err := st.dec.decodeTruncate(m)
			if err != nil || len(evs) == 0 {
				return pipeline.Event{}, false, err
			}
			st.pending = append(st.pending, evs[1:]...)
			return evs[0], true, nil
		}
		return st.dec.decode(ctx, xld.WALStart, xld.WALData)
	}
	return pipeline.Event{}, false, nil
}

// Close sends a last status update with the durable position and closes
// the connections.
func (st *Stream) Close(ctx context.Context) error {
	if st.stopWatch != nil {
		st.stopWatch()
	}
	err := st.sendStatus(ctx, false)
	if cerr := st.conn.Close(ctx); err == nil {
		err = cerr
	}
	st.catalog.Close(ctx)
	return err
}

var _ pipeline.EventSource = (*Stream)(nil)
