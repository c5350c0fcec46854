package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/s3bridge/s3bridge/instance/bulk"
	"github.com/s3bridge/s3bridge/statement"
)

var _ bulk.TableCopier = (*Instance)(nil)

// minRangeVersion is the first server version with TID range scans: on
// older ones a ctid range reads the whole table, once per range.
const minRangeVersion = 140000

// ScanTable implements bulk.TableCopier: a read-only, repeatable-read
// transaction exports its snapshot (pg_export_snapshot), which every
// range's session then imports, so the ranges see the table as of one
// instant whatever is committed meanwhile. The ranges cut the relation's
// file as it is now (pg_relation_size, not relpages, which a table never
// analyzed has at 0); the last one is open-ended, so no visible row is
// missed whatever the file's size.
func (in *Instance) ScanTable(ctx context.Context, q bulk.Query, table string, pages int64) (bulk.TableScan, error) {
	if pages < 1 {
		return nil, fmt.Errorf("scan %s: ranges of %d pages", table, pages)
	}
	pc, err := in.bulkConn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect for export: %w", err)
	}
	s := &tableScan{in: in, pc: pc, q: q, table: table}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	if s.tx, err = bulkBegin(ctx, pc.Conn(), "ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return nil, fmt.Errorf("begin read-only transaction: %w", err)
	}
	if err := applyCaller(ctx, s.tx, q); err != nil {
		return nil, err
	}
	var version int
	var kind string
	var inherited bool
	var size int64
	// to_regclass resolves the name as the query would (search_path,
	// quoting) and gives NULL, not an error, for a missing relation, which
	// the single COPY then reports as it always has.
	err = s.tx.QueryRow(ctx, `SELECT current_setting('server_version_num')::int, c.relkind::text, c.relhassubclass,
			pg_catalog.pg_relation_size(c.oid) / current_setting('block_size')::int
		FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass($1)`, table).Scan(&version, &kind, &inherited, &size)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("%s is not a table: %w", table, bulk.ErrNoRanges)
	case err != nil:
		return nil, fmt.Errorf("size of %s: %w", table, err)
	case version < minRangeVersion:
		return nil, fmt.Errorf("server version %d has no TID range scan: %w", version, bulk.ErrNoRanges)
	case kind != "r" || inherited:
		// A view, a partitioned table, a parent of inheritance children:
		// their rows are not in the relation's own pages.
		return nil, fmt.Errorf("%s is a relation of kind %s (inherited: %t): %w", table, kind, inherited, bulk.ErrNoRanges)
	case size <= pages:
		// One range: a second session and an exported snapshot would only
		// add their round trips to a small export's fixed cost.
		return nil, fmt.Errorf("%s has %d pages, one range: %w", table, size, bulk.ErrNoRanges)
	}
	if err := s.tx.QueryRow(ctx, "SELECT pg_catalog.pg_export_snapshot()").Scan(&s.snapshot); err != nil {
		// A server that can't (a standby of an old version) still
		// exports through one COPY.
		return nil, fmt.Errorf("export a snapshot of %s: %w: %w", table, err, bulk.ErrNoRanges)
	}
	s.pages = pages
	s.ranges = int(max((size+pages-1)/pages, 1))
	ok = true
	return s, nil
}

// applyCaller makes tx run as q.Caller with the caller's session settings.
func applyCaller(ctx context.Context, tx pgx.Tx, q bulk.Query) error {
	if q.Caller != "" {
		if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{q.Caller}.Sanitize()); err != nil {
			return bulk.Denied(fmt.Errorf("run the export as role %s (the agent's role must be a member of it): %w", q.Caller, err))
		}
	}
	for _, name := range sessionSettings {
		if v, ok := q.Session[name]; ok {
			if _, err := tx.Exec(ctx, "SELECT set_config($1, $2, true)", name, v); err != nil {
				return fmt.Errorf("apply the caller's %s: %w", name, err)
			}
		}
	}
	return nil
}

// tableScan holds the transaction whose snapshot the ranges import; it
// must stay open until every range has begun.
type tableScan struct {
	in       *Instance
	pc       *pgxpool.Conn
	tx       pgx.Tx
	q        bulk.Query
	table    string
	snapshot string
	pages    int64
	ranges   int
}

func (s *tableScan) Ranges() int { return s.ranges }

// where is range i's condition: pages [i×pages, (i+1)×pages), the last
// range every page after its start.
func (s *tableScan) where(i int) string {
	if s.ranges == 1 {
		return ""
	}
	w := fmt.Sprintf(" WHERE ctid >= '(%d,0)'::tid", int64(i)*s.pages)
	if i < s.ranges-1 {
		w += fmt.Sprintf(" AND ctid < '(%d,0)'::tid", int64(i+1)*s.pages)
	}
	return w
}

func (s *tableScan) CopyRange(ctx context.Context, i int, w io.Writer, options string) error {
	if i < 0 || i >= s.ranges {
		return fmt.Errorf("range %d of %s: it has %d", i, s.table, s.ranges)
	}
	pc, err := s.in.bulkConn(ctx)
	if err != nil {
		return fmt.Errorf("connect for range %d of %s: %w", i, s.table, err)
	}
	defer pc.Release()
	// SET TRANSACTION SNAPSHOT must come before the transaction's first
	// query; the SET LOCAL of bulkBegin is not one.
	tx, err := bulkBegin(ctx, pc.Conn(), "ISOLATION LEVEL REPEATABLE READ READ ONLY")
	if err != nil {
		return fmt.Errorf("begin read-only transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "SET TRANSACTION SNAPSHOT "+statement.QuoteLiteralPG(s.snapshot)); err != nil {
		return fmt.Errorf("import the snapshot of %s: %w", s.table, err)
	}
	if err := applyCaller(ctx, tx, s.q); err != nil {
		return err
	}
	// The table name was checked to be an identifier (bulk.TableCopier).
	if _, err := copyOut(ctx, tx.Conn(), w, "SELECT * FROM "+s.table+s.where(i), nil, options); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Close ends the snapshot's transaction and releases its connection.
func (s *tableScan) Close() error {
	var err error
	if s.tx != nil {
		err = s.tx.Rollback(context.Background())
		s.tx = nil
	}
	if s.pc != nil {
		s.pc.Release()
		s.pc = nil
	}
	if errors.Is(err, pgx.ErrTxClosed) {
		err = nil
	}
	return err
}
