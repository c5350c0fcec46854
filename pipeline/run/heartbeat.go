package run

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/s3bridge/s3bridge/pipeline"
)

// HeartbeatPrefix is the prefix of the logical messages a Heartbeater
// writes; their content is the pipeline's name.
const HeartbeatPrefix = "s3bridge_heartbeat"

// Heartbeater writes a heartbeat into the source database's WAL: a
// non-transactional logical message. The stream receives it whatever the
// publication, the writer's position moves past it, and the next
// checkpoint confirms it to the slot. That is what moves the slot on when
// the captured tables are idle while other tables of the database are
// busy: pgoutput sends nothing for their transactions, so without a
// message the slot's confirmed_flush_lsn would stay where the last captured
// change left it and the server would keep their WAL without bound
// (Debezium's heartbeat problem).
type Heartbeater interface {
	// Heartbeat writes one heartbeat and returns its LSN.
	Heartbeat(ctx context.Context) (pipeline.LSN, error)
}

// PostgresHeartbeat is the Heartbeater of a pipeline's source: each
// Heartbeat opens an ordinary connection to URL and runs
// pg_logical_emit_message(false, HeartbeatPrefix, Name), which PostgreSQL
// grants to PUBLIC by default.
type PostgresHeartbeat struct {
	URL  string `json:"-"` // may hold a password
	Name string
}

// Heartbeat implements Heartbeater.
func (h PostgresHeartbeat) Heartbeat(ctx context.Context) (pipeline.LSN, error) {
	conn, err := pgconn.Connect(ctx, h.URL)
	if err != nil {
		return 0, fmt.Errorf("heartbeat of pipeline %s: connect: %w", h.Name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	res := conn.ExecParams(ctx, `SELECT pg_catalog.pg_logical_emit_message(false, $1, $2)::text`,
		[][]byte{[]byte(HeartbeatPrefix), []byte(h.Name)}, nil, nil, nil).Read()
	if res.Err != nil {
		return 0, fmt.Errorf("heartbeat of pipeline %s: emit message: %w", h.Name, res.Err)
	}
	lsn, err := pipeline.ParseLSN(string(res.Rows[0][0]))
	if err != nil {
		return 0, fmt.Errorf("heartbeat of pipeline %s: %w", h.Name, err)
	}
	return lsn, nil
}

var _ Heartbeater = PostgresHeartbeat{}

// heartbeats writes a heartbeat whenever the stream has gone
// HeartbeatInterval without an event (last holds the time of the last
// one, in Unix nanoseconds), until ctx ends. A failed heartbeat is logged
// and tried again an interval later: the stream itself is unharmed, only
// the slot stays where it is meanwhile.
func (p *Pipeline) heartbeats(ctx context.Context, last *atomic.Int64) {
	every := p.cfg.HeartbeatInterval
	timer := time.NewTimer(every)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if idle := time.Since(time.Unix(0, last.Load())); idle < every {
			timer.Reset(every - idle)
			continue
		}
		hctx, cancel := context.WithTimeout(ctx, every)
		lsn, err := p.cfg.Heartbeat.Heartbeat(hctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			p.log.Warn("pipeline heartbeat failed: the slot does not move on while the captured tables are idle", "err", err)
		default:
			p.log.Debug("pipeline heartbeat", "lsn", lsn)
		}
		timer.Reset(every)
	}
}
