package pgsource

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/statement"
)

// Snapshot is a read-only transaction on a Slot's exported snapshot: the
// captured tables exactly as they were at the slot's consistent point.
// Tables, Schema and Read are for one goroutine; Close ends it.
type Snapshot struct {
	src    *Source
	conn   *pgconn.PgConn
	lsn    pipeline.LSN
	types  *typeResolver
	values *valueDecoder
}

// OpenSnapshot starts a REPEATABLE READ transaction on slot's exported
// snapshot, in a session with the text forms pgoutput uses (so rows read
// here decode exactly like streamed ones). Once it returned, the slot's
// snapshot may be released.
func (s *Source) OpenSnapshot(ctx context.Context, slot *Slot) (*Snapshot, error) {
	cfg := s.cfg.Copy()
	for k, v := range map[string]string{
		"DateStyle": "ISO, YMD", "IntervalStyle": "postgres", "TimeZone": "UTC",
		"extra_float_digits": "3", "bytea_output": "hex", "application_name": s.name + "_snapshot",
	} {
		cfg.RuntimeParams[k] = v
	}
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open snapshot connection to database %s: %w", s.cfg.Database, err)
	}
	sql := "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT " + statement.QuoteLiteralPG(slot.SnapshotName)
	if _, err := conn.Exec(ctx, sql).ReadAll(); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("import snapshot %s of slot %s: %w", slot.SnapshotName, slot.Name, err)
	}
	sn := &Snapshot{src: s, conn: conn, lsn: slot.ConsistentPoint}
	sn.types = newTypeResolver(func(context.Context) (*pgconn.PgConn, error) { return conn, nil })
	sn.values = newValueDecoder(sn.types.delims)
	return sn, nil
}

// LSN returns the snapshot's consistent point: where streaming goes on.
func (sn *Snapshot) LSN() pipeline.LSN { return sn.lsn }

// Tables returns the tables of the pipeline's publication as of the
// snapshot, in name order.
func (sn *Snapshot) Tables(ctx context.Context) ([]Table, error) {
	res := sn.conn.ExecParams(ctx, `SELECT schemaname, tablename FROM pg_catalog.pg_publication_tables
		WHERE pubname = $1 ORDER BY 1, 2`, [][]byte{[]byte(sn.src.name)}, nil, nil, nil).Read()
	if res.Err != nil {
		return nil, fmt.Errorf("list tables of publication %s: %w", sn.src.name, res.Err)
	}
	out := make([]Table, len(res.Rows))
	for i, r := range res.Rows {
		out[i] = Table{Schema: string(r[0]), Name: string(r[1])}
	}
	return out, nil
}

// Schema returns the table's shape as of the snapshot, as the stream's
// Relation message would describe it: the columns pgoutput sends (no
// dropped or generated ones), every one nullable, Key on the replica
// identity's columns, types resolved the same way. Version is 0: the
// caller numbers it (pipeline.Evolve).
func (sn *Snapshot) Schema(ctx context.Context, t Table) (pipeline.TableSchema, error) {
	ts := pipeline.TableSchema{Database: sn.src.cfg.Database, Schema: t.Schema, Table: t.Name}
	name := pgx.Identifier{t.Schema, t.Name}.Sanitize()
	res := sn.conn.ExecParams(ctx, `SELECT a.attname, a.atttypid, a.atttypmod, a.attndims,
			c.relreplident = 'f' OR EXISTS (SELECT 1 FROM pg_catalog.pg_index i
				WHERE i.indrelid = c.oid AND a.attnum = ANY (i.indkey)
				AND ((c.relreplident = 'd' AND i.indisprimary) OR (c.relreplident = 'i' AND i.indisreplident)))
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
		WHERE c.oid = pg_catalog.to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		ORDER BY a.attnum`, [][]byte{[]byte(name)}, nil, nil, nil).Read()
	if res.Err != nil {
		return ts, fmt.Errorf("read columns of %s: %w", name, res.Err)
	}
	if len(res.Rows) == 0 {
		return ts, fmt.Errorf("read columns of %s: no such table, or no columns", name)
	}
	for _, r := range res.Rows {
		oid, _ := strconv.ParseUint(string(r[1]), 10, 32)
		typmod, _ := strconv.ParseInt(string(r[2]), 10, 32)
		dims, _ := strconv.Atoi(string(r[3]))
		typ, err := sn.types.resolve(ctx, uint32(oid), int32(typmod), dims)
		if err != nil {
			return ts, fmt.Errorf("table %s column %s: %w", name, r[0], err)
		}
		ts.Columns = append(ts.Columns, pipeline.Column{Name: string(r[0]), Type: typ, Nullable: true, Key: string(r[4]) == "t"})
	}
	return ts, nil
}

// Read streams every row of the table of ts (which Schema returned,
// numbered) to emit as an OpRead change, one row in memory at a time, and
// returns the number of rows.
func (sn *Snapshot) Read(ctx context.Context, ts *pipeline.TableSchema, emit func(*pipeline.Change) error) (int64, error) {
	return sn.ReadChunk(ctx, ts, Chunking{Chunks: 1}, 0, sn.lsn, emit)
}

// Chunking cuts a table into ranges of pages (ctid ranges), which
// sessions sharing one snapshot read in parallel and which partition its
// rows exactly. Chunk i holds the pages [i×Pages, (i+1)×Pages); the last one
// also every page after.
type Chunking = pipeline.Chunking

// Plan cuts the table into chunks of about rows rows each (at most
// maxChunks), from the table's size and the planner's row estimate.
func (sn *Snapshot) Plan(ctx context.Context, t Table, rows int64, maxChunks int) (Chunking, error) {
	name := pgx.Identifier{t.Schema, t.Name}.Sanitize()
	res := sn.conn.ExecParams(ctx, `SELECT pg_catalog.pg_relation_size(c.oid) / current_setting('block_size')::int, c.reltuples, c.relpages
		FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass($1)`, [][]byte{[]byte(name)}, nil, nil, nil).Read()
	if res.Err != nil || len(res.Rows) == 0 {
		return Chunking{}, fmt.Errorf("size of %s: %v", name, cmpErr(res.Err, "no such table"))
	}
	pages, _ := strconv.ParseInt(string(res.Rows[0][0]), 10, 64)
	tuples, _ := strconv.ParseFloat(string(res.Rows[0][1]), 64)
	relpages, _ := strconv.ParseInt(string(res.Rows[0][2]), 10, 64)
	perPage := 100.0 // a guess for a table never analyzed
	if tuples > 0 && relpages > 0 {
		perPage = max(tuples/float64(relpages), 1)
	}
	per := max(int64(float64(rows)/perPage), 1)
	n := int((pages + per - 1) / per)
	if n > maxChunks {
		n = maxChunks
		per = (pages + int64(n) - 1) / int64(n)
	}
	return Chunking{Chunks: max(n, 1), Pages: per}, nil
}

func cmpErr(err error, def string) any {
	if err != nil {
		return err
	}
	return def
}

// Resumable reports whether a chunked copy of the table may be finished
// at a later point than it began (pipeline.run resumes an interrupted
// snapshot by chunk): the rows a resumed chunk misses or doubles are
// those updated meanwhile, which the stream's changes set right, as long
// as those changes carry whole rows. They don't when a TOASTed value is
// unchanged and the replica identity is not FULL (the change lists it as
// unchanged, and the row's previous image may be missing): such a table is
// copied again whole.
func (sn *Snapshot) Resumable(ctx context.Context, t Table) (bool, error) {
	name := pgx.Identifier{t.Schema, t.Name}.Sanitize()
	res := sn.conn.ExecParams(ctx, `SELECT c.relreplident = 'f' OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
			WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attstorage <> 'p')
		FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass($1)`, [][]byte{[]byte(name)}, nil, nil, nil).Read()
	if res.Err != nil || len(res.Rows) == 0 {
		return false, fmt.Errorf("replica identity of %s: %v", name, cmpErr(res.Err, "no such table"))
	}
	return string(res.Rows[0][0]) == "t", nil
}

// ReadChunk streams the rows of chunk i of the table of ts as OpRead
// changes whose LSN is lsn (the snapshot's own, or, for a chunk of a
// snapshot resumed at a later point, the LSN of the snapshot it
// completes), one row in memory at a time, and returns their number.
func (sn *Snapshot) ReadChunk(ctx context.Context, ts *pipeline.TableSchema, c Chunking, i int, lsn pipeline.LSN,
	emit func(*pipeline.Change) error) (int64, error) {
	cols := make([]string, len(ts.Columns))
	for i, c := range ts.Columns {
		cols[i] = pgx.Identifier{c.Name}.Sanitize()
	}
	name := pgx.Identifier{ts.Schema, ts.Table}.Sanitize()
	// ONLY: an inheritance child is published, and read, as its own table.
	sql := "SELECT " + strings.Join(cols, ", ") + " FROM ONLY " + name
	if c.Chunks > 1 {
		// A TID range scan (PostgreSQL 14+) reads just those pages.
		sql += fmt.Sprintf(" WHERE ctid >= '(%d,0)'::tid", int64(i)*c.Pages)
		if i < c.Chunks-1 {
			sql += fmt.Sprintf(" AND ctid < '(%d,0)'::tid", int64(i+1)*c.Pages)
		}
	}
	rr := sn.conn.ExecParams(ctx, sql, nil, nil, nil, nil)
	var n int64
	src := pipeline.Source{LSN: lsn, Database: ts.Database, Schema: ts.Schema, Table: ts.Table, Snapshot: true}
	for rr.NextRow() {
		vals := rr.Values()
		row := make(pipeline.Row, len(vals))
		for i, v := range vals {
			if v == nil {
				continue
			}
			x, err := sn.values.decode(ts.Columns[i].Type, v)
			if err != nil {
				rr.Close()
				return n, fmt.Errorf("snapshot of %s row %d column %s: %w", name, n+1, ts.Columns[i].Name, err)
			}
			row[i] = x
		}
		if err := emit(&pipeline.Change{Op: pipeline.OpRead, Schema: ts, After: row, Source: src}); err != nil {
			rr.Close()
			return n, err
		}
		n++
	}
	if _, err := rr.Close(); err != nil {
		return n, fmt.Errorf("snapshot of %s: %w", name, err)
	}
	return n, nil
}

// Close ends the snapshot's transaction and connection; a nil Snapshot is
// none.
func (sn *Snapshot) Close(ctx context.Context) error {
	if sn == nil {
		return nil
	}
	_, err := sn.conn.Exec(ctx, "COMMIT").ReadAll()
	if cerr := sn.conn.Close(ctx); err == nil {
		err = cerr
	}
	return err
}
