package mysource

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/binlog"
)

// StreamOptions say where and how to stream.
type StreamOptions struct {
	// Start is the position to stream from, as an LSN: the checkpoint's
	// (the EndLSN of the last durable transaction) or a Slot's
	// ConsistentPoint. Position, when set, is used instead.
	Start pipeline.LSN
	// Position is Start's resume token (the checkpoint's, see Token; a
	// Slot's Position). Without one, Start is found in the server's
	// binary logs by its file number. Both empty: the end of the log.
	Position string
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
	// as text (binlog.DDL).
	OnDDL func(binlog.DDL)
	// Heartbeat is how often the server sends a heartbeat while it has
	// nothing to send (binlog.StreamOptions); default 5s.
	Heartbeat time.Duration
}

// Stream reads the server's binary log as pipeline events: the changes
// of the captured tables (each with its place in the log,
// Source.Binlog), and the Begin and Commit of every transaction
// (whatever tables it changed, so the position a checkpoint saves moves
// on while the captured tables are idle and others busy: no heartbeat is
// needed, unlike pgsource) and the statements logged as text (DDL
// Messages, binlog.DDLPrefix), whatever they name. Next and Close are for
// one goroutine; Confirm, Durable and Token may be called from any.
//
// A start the server no longer has, now or at the first Next, is a
// *PurgedError.
type Stream struct {
	src   *Source
	inner *binlog.Stream
	// gtids says tokens carry GTIDs: the start had every domain's (a
	// stream from a file and offset alone knows only the domains it has
	// read, and a token with some would resume the others from their
	// beginning).
	gtids bool

	start binlog.Position

	mu      sync.Mutex
	durable binlog.Position
}

// Stream starts streaming the captured tables at opts' position.
func (s *Source) Stream(ctx context.Context, opts StreamOptions) (*Stream, error) {
	start, err := s.startPosition(ctx, opts)
	if err != nil {
		return nil, s.purged(err, cmpToken(opts.Position, opts.Start))
	}
	inner, err := s.bin.Stream(ctx, binlog.StreamOptions{Start: start, Known: opts.Known, Versions: opts.Versions,
		OnSchema: opts.OnSchema, OnDDL: opts.OnDDL, Include: s.include(s.Publication()),
		Databases: s.databases(s.Publication()), Heartbeat: opts.Heartbeat})
	if err != nil {
		return nil, s.purged(err, Token(start))
	}
	st := &Stream{src: s, inner: inner, gtids: len(start.GTIDs) > 0, start: start, durable: start}
	if start.IsZero() {
		// The end of the log, as the binlog stream read it.
		st.start, st.gtids = inner.Start(), len(inner.Start().GTIDs) > 0
		st.durable = st.start
	}
	return st, nil
}

// startPosition resolves opts to a binary-log position: its token, else
// its LSN's file and offset with the GTIDs the server finds there
// (BINLOG_GTID_POS, when it can), else the zero Position (the end).
func (s *Source) startPosition(ctx context.Context, opts StreamOptions) (binlog.Position, error) {
	if opts.Position != "" {
		p, err := ParseToken(opts.Position)
		if err != nil {
			return p, err
		}
		if l := lsnOf(p); opts.Start != 0 && l != 0 && l != opts.Start {
			return p, fmt.Errorf("start at %s, but its resume token %q is at %s", opts.Start, opts.Position, l)
		}
		if len(p.GTIDs) > 0 || p.File == "" {
			return p, nil
		}
		return s.withGTIDs(ctx, p)
	}
	if opts.Start == 0 {
		return binlog.Position{}, nil
	}
	db, conn, err := s.connect(ctx)
	if err != nil {
		return binlog.Position{}, err
	}
	defer db.Close()
	defer conn.Close()
	logs, err := binaryLogs(ctx, conn)
	if err != nil {
		return binlog.Position{}, err
	}
	i := fileOf(logs, uint32(opts.Start>>32))
	if i < 0 {
		return binlog.Position{}, fmt.Errorf("%w: no binary log file number %d on the server", binlog.ErrLogUnavailable, opts.Start>>32)
	}
	return s.withGTIDs(ctx, binlog.Position{File: logs[i].name, Pos: uint32(opts.Start)})
}

// withGTIDs completes a file and offset with the GTIDs of that place, on
// a connection of its own (gtidsAt).
func (s *Source) withGTIDs(ctx context.Context, p binlog.Position) (binlog.Position, error) {
	db, conn, err := s.connect(ctx)
	if err != nil {
		return p, err
	}
	defer db.Close()
	defer conn.Close()
	return gtidsAt(ctx, conn, p)
}

// Start returns the position the stream started at.
func (st *Stream) Start() binlog.Position { return st.start }

// Next returns the next event.
func (st *Stream) Next(ctx context.Context) (pipeline.Event, error) {
	ev, err := st.inner.Next(ctx)
	if err != nil {
		return ev, st.src.purged(err, Token(st.start))
	}
	return ev, nil
}

// tokenPosition is p as tokens carry it: without GTIDs unless the start
// had them (Stream.gtids).
func (st *Stream) tokenPosition(p binlog.Position) binlog.Position {
	if !st.gtids {
		p.GTIDs = nil
	}
	return p
}

// Token returns the resume token of lsn (a transaction's EndLSN, a DDL
// Message's LSN): the position after the last event group read that ends
// there or before, never before the durable position — which the binlog
// stream records as it decodes each group (it may read ahead of the
// events Next returned, so its current position is no measure of
// theirs). The checkpoint stores it before Confirm; it confirms nothing.
func (st *Stream) Token(lsn pipeline.LSN) string {
	return Token(st.tokenPosition(st.inner.PositionAt(lsn)))
}

// Confirm records that everything up to lsn is durable: Durable moves to
// the position after the last group that ends there or before. It never
// moves back, and tells the server nothing (the server holds nothing for
// a replica); a caller confirms as it goes, as the binlog stream keeps a
// small record of every group until it is confirmed.
func (st *Stream) Confirm(lsn pipeline.LSN) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.inner.Confirm(lsn)
	st.durable = st.tokenPosition(st.inner.Durable())
}

// Durable returns the LSN of the last confirmed position (the start until
// one is).
func (st *Stream) Durable() pipeline.LSN {
	st.mu.Lock()
	defer st.mu.Unlock()
	return lsnOf(st.durable)
}

// DurableToken returns the resume token of the last confirmed position.
func (st *Stream) DurableToken() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return Token(st.durable)
}

// Close closes the connection.
func (st *Stream) Close(ctx context.Context) error { return st.inner.Close(ctx) }

var _ pipeline.EventSource = (*Stream)(nil)
