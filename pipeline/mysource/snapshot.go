package mysource

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/binlog"
	"github.com/s3bridge/s3bridge/statement"
)

// ErrNotExact means a table whose snapshot must be read at the snapshot's
// very point (one without a key, or a server not logging full row images,
// see Snapshot) has no session left there to read it.
var ErrNotExact = errors.New("no session at the snapshot's point is left to read the table")

// seamAttempts bounds the tries at reading a snapshot's GTIDs exactly (see
// openSession).
const seamAttempts = 20

// session is one connection in a consistent-snapshot transaction.
type session struct {
	db   *sql.DB
	conn *sql.Conn
	// at is the binary-log position the snapshot is consistent with: its
	// file and offset, and its GTIDs when they were read exactly.
	at binlog.Position
	// mu makes the session's queries one at a time: a session at the
	// snapshot's point may read for other sessions (see ReadChunk).
	mu     sync.Mutex
	closed bool
}

// openSession starts a REPEATABLE READ transaction WITH CONSISTENT
// SNAPSHOT and reads, in the same session, the binary-log position
// MariaDB gives it (binlog_snapshot_file and _position): InnoDB's snapshot
// holds exactly the transactions logged before that position, and a
// stream from it sends exactly the others. No lock is taken.
//
// With gtids, it also reads the GTIDs of that position. MariaDB gives no
// GTIDs with the snapshot, and @@gtid_binlog_pos is the server's, read at
// another moment: so @@gtid_binlog_pos is read, then the end of the log
// (SHOW MASTER STATUS), and when that end is still the snapshot's
// position, nothing was logged since the snapshot began, and the GTIDs
// read in between are the snapshot's (a transaction's GTID is counted
// before its events are written, both under the log's lock). Otherwise
// the snapshot starts again, seamAttempts times at most (reading them
// before the snapshot would not do: a transaction is logged, and counted,
// before it commits into InnoDB's snapshots). The last one asks the server
// for the GTIDs of its position (BINLOG_GTID_POS, which reads the file up
// to it and gives none when the file holds an event larger than
// max_allowed_packet), and without them keeps its file and offset only.
func (s *Source) openSession(ctx context.Context, gtids bool) (*session, error) {
	db, conn, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	se := &session{db: db, conn: conn}
	fail := func(err error) (*session, error) {
		conn.Close()
		db.Close()
		return nil, err
	}
	// A snapshot's rows are read while S3 takes the files: the server
	// must wait for the client longer than its default minute.
	for _, q := range []string{"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "SET SESSION net_write_timeout = 3600"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fail(fmt.Errorf("prepare a snapshot session: %s: %w", q, err))
		}
	}
	for attempt := 1; ; attempt++ {
		if _, err := conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
			return fail(fmt.Errorf("start a consistent snapshot: %w", err))
		}
		if se.at, err = snapshotPosition(ctx, conn); err != nil {
			return fail(err)
		}
		if !gtids {
			return se, nil
		}
		var set string
		if err := conn.QueryRowContext(ctx, "SELECT @@global.gtid_binlog_pos").Scan(&set); err != nil {
			return fail(fmt.Errorf("read the server's GTID position: %w", err))
		}
		end, err := logEnd(ctx, conn)
		if err != nil {
			return fail(err)
		}
		if end.File == se.at.File && end.Pos == se.at.Pos {
			if se.at.GTIDs, err = binlog.ParseGTIDSet(set); err != nil {
				return fail(err)
			}
			return se, nil
		}
		if attempt == seamAttempts {
			if err := se.gtidsAt(ctx); err != nil {
				return fail(err)
			}
			return se, nil
		}
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			return fail(fmt.Errorf("start a consistent snapshot again: %w", err))
		}
	}
}

// gtidsAt sets the GTIDs of the session's position from the server's
// BINLOG_GTID_POS, when it gives them.
func (se *session) gtidsAt(ctx context.Context) error {
	at, err := gtidsAt(ctx, se.conn, se.at)
	se.at = at
	return err
}

// gtidsAt completes a file and offset with the GTIDs of that place, from
// the server's BINLOG_GTID_POS (which reads the file up to it); p as it is
// when the server can't tell.
func gtidsAt(ctx context.Context, conn *sql.Conn, p binlog.Position) (binlog.Position, error) {
	var set sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, ?)", p.File, int64(p.Pos)).Scan(&set); err != nil {
		return p, fmt.Errorf("GTIDs at %s: %w", Token(p), err)
	}
	if !set.Valid || set.String == "" {
		return p, nil
	}
	gtids, err := binlog.ParseGTIDSet(set.String)
	if err != nil {
		return p, err
	}
	p.GTIDs = gtids
	return p, nil
}

// snapshotPosition reads the position the session's snapshot is
// consistent with.
func snapshotPosition(ctx context.Context, conn *sql.Conn) (binlog.Position, error) {
	rows, err := conn.QueryContext(ctx, "SHOW SESSION STATUS LIKE 'binlog_snapshot_%'")
	if err != nil {
		return binlog.Position{}, fmt.Errorf("read the snapshot's binary log position: %w", err)
	}
	defer rows.Close()
	var p binlog.Position
	for rows.Next() {
		var name, val string
		if err := rows.Scan(&name, &val); err != nil {
			return p, fmt.Errorf("read the snapshot's binary log position: %w", err)
		}
		switch strings.ToLower(name) {
		case "binlog_snapshot_file":
			p.File = val
		case "binlog_snapshot_position":
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				return p, fmt.Errorf("binlog_snapshot_position %q: %w", val, err)
			}
			p.Pos = uint32(n)
		}
	}
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("read the snapshot's binary log position: %w", err)
	}
	if p.File == "" {
		return p, fmt.Errorf("the server gives no binary log position with its snapshots: is log_bin on?")
	}
	return p, nil
}

// logEnd reads the end of the server's binary log (file and offset).
func logEnd(ctx context.Context, conn *sql.Conn) (binlog.Position, error) {
	rows, err := conn.QueryContext(ctx, "SHOW MASTER STATUS")
	if err != nil {
		return binlog.Position{}, fmt.Errorf("read the end of the binary log: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		return binlog.Position{}, fmt.Errorf("SHOW MASTER STATUS: no binary log (is log_bin on?)")
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return binlog.Position{}, fmt.Errorf("read the end of the binary log: %w", err)
	}
	n, err := strconv.ParseUint(string(vals[1]), 10, 32)
	if err != nil {
		return binlog.Position{}, fmt.Errorf("SHOW MASTER STATUS: position %q: %w", vals[1], err)
	}
	return binlog.Position{File: string(vals[0]), Pos: uint32(n)}, rows.Close()
}

// close ends the session's transaction (within 10s: a read-only
// transaction has nothing to wait for) and its connection.
func (se *session) close(ctx context.Context) error {
	se.mu.Lock()
	defer se.mu.Unlock()
	if se.closed {
		return nil
	}
	se.closed = true
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := se.conn.ExecContext(ctx, "COMMIT")
	if cerr := se.conn.Close(); err == nil {
		err = cerr
	}
	se.db.Close()
	return err
}

// group is what the sessions of one snapshot share: its point and the
// session at that point, once a Snapshot owns it.
type group struct {
	lsn   pipeline.LSN
	mu    sync.Mutex
	exact *session
}

// Slot is a consistent snapshot just taken and the position it is
// consistent with: the point where the pipeline's stream goes on
// (ConsistentPoint, Position). Its session is the snapshot's first: the
// first OpenSnapshot takes it over; Release ends it if none did.
type Slot struct {
	// Name names the snapshot in logs.
	Name            string
	ConsistentPoint pipeline.LSN
	// Position is the resume token of ConsistentPoint, for the checkpoint.
	Position string
	group    *group
	mu       sync.Mutex
	sess     *session
}

// Point returns the slot's consistent point (ConsistentPoint).
func (sl *Slot) Point() pipeline.LSN { return sl.ConsistentPoint }

// Token returns the consistent point's resume token (Position), for the
// pipeline's first checkpoint.
func (sl *Slot) Token() string { return sl.Position }

// String names the slot in logs.
func (sl *Slot) String() string { return sl.Name }

// Release ends the slot's session unless a Snapshot took it over.
func (sl *Slot) Release(ctx context.Context) error {
	sl.mu.Lock()
	sess := sl.sess
	sl.sess = nil
	sl.mu.Unlock()
	if sess == nil {
		return nil
	}
	return sess.close(ctx)
}

// Create starts the pipeline: it makes pub the captured tables (they must
// exist) and takes the initial snapshot's Slot. There is nothing to create
// on the server (no slot, no publication), so unlike pgsource it never
// finds one there already.
func (s *Source) Create(ctx context.Context, pub Publication) (*Slot, error) {
	if !pub.AllTables && len(pub.Tables) == 0 {
		return nil, fmt.Errorf("pipeline %s: no tables", s.name)
	}
	if !pub.AllTables {
		if err := s.mustExist(ctx, pub.Tables); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	s.pub = clonePub(pub)
	s.mu.Unlock()
	return s.SnapshotSlot(ctx)
}

// SnapshotSlot takes a consistent snapshot while the pipeline streams (or
// before it starts): exactly the transactions logged before its point C
// are in it, and the pipeline's stream sends the others, which all come
// at or after C. Nothing is held on the server beyond the snapshot's
// transaction (InnoDB keeps the row versions it needs until it ends).
func (s *Source) SnapshotSlot(ctx context.Context) (*Slot, error) {
	sess, err := s.openSession(ctx, true)
	if err != nil {
		return nil, err
	}
	lsn, err := sess.at.LSN()
	if err != nil {
		sess.close(ctx)
		return nil, err
	}
	tok := Token(sess.at)
	return &Slot{Name: s.name + " snapshot at " + tok, ConsistentPoint: lsn, Position: tok,
		group: &group{lsn: lsn}, sess: sess}, nil
}

// Snapshot is one session of a consistent snapshot of the captured tables.
// Tables, Schema, Plan, Resumable and the reads are for one goroutine;
// Close ends it.
//
// The first Snapshot opened on a Slot reads the slot's own session: the
// tables exactly as of the slot's point C. MariaDB can't share a snapshot
// between sessions, so every other Snapshot of the Slot is a consistent
// snapshot of its own, begun later, at its own position P ≥ C. Its rows are
// still marked with C, and they are still exact for a reader who takes the
// snapshot's rows and applies, by key, the changes at or after C: with
// binlog_row_image=FULL every streamed change carries the whole row (and
// a delete the whole row it deleted), so for each key the last change
// after C decides the row whatever the snapshot read, and a key no change
// touched after C is the same at P as at C. (pgsource.Resumable makes the
// same argument for a chunk resumed at a later point.) That needs a key to
// apply changes by and full row images: a table without a key (or a
// server without FULL images) is read in the session at C whichever
// Snapshot is asked (ReadChunk).
type Snapshot struct {
	src   *Source
	sess  *session
	lsn   pipeline.LSN
	group *group
	full  bool // binlog_row_image=FULL when the session began
}

// OpenSnapshot returns a session of slot's snapshot: the slot's own the
// first time, else a new consistent snapshot (see Snapshot). The slot
// may be released once every session is open.
func (s *Source) OpenSnapshot(ctx context.Context, slot *Slot) (*Snapshot, error) {
	slot.mu.Lock()
	sess := slot.sess
	slot.sess = nil
	slot.mu.Unlock()
	if sess != nil {
		slot.group.mu.Lock()
		slot.group.exact = sess
		slot.group.mu.Unlock()
	} else {
		var err error
		if sess, err = s.openSession(ctx, false); err != nil {
			return nil, err
		}
		if lsnOf(sess.at) < slot.ConsistentPoint {
			sess.close(ctx)
			return nil, fmt.Errorf("a snapshot session at %s, before its snapshot's point %s: did the server's binary log start over (RESET MASTER)?",
				Token(sess.at), slot.Position)
		}
	}
	sn := &Snapshot{src: s, sess: sess, lsn: slot.ConsistentPoint, group: slot.group}
	var image string
	sess.mu.Lock()
	err := sess.conn.QueryRowContext(ctx, "SELECT @@global.binlog_row_image").Scan(&image)
	sess.mu.Unlock()
	if err != nil {
		sess.close(ctx)
		return nil, fmt.Errorf("read binlog_row_image: %w", err)
	}
	sn.full = strings.EqualFold(image, "FULL")
	return sn, nil
}

// LSN returns the snapshot's point C, where streaming goes on and the LSN
// of its rows.
func (sn *Snapshot) LSN() pipeline.LSN { return sn.lsn }

// At returns the position this session's snapshot is consistent with: C
// for the slot's own session, else its own later one.
func (sn *Snapshot) At() binlog.Position { return sn.sess.at }

// Tables returns the captured tables as of now, in name order.
func (sn *Snapshot) Tables(ctx context.Context) ([]Table, error) {
	pub := sn.src.Publication()
	if !pub.AllTables {
		out := slices.Clone(pub.Tables)
		slices.SortFunc(out, func(a, b Table) int { return strings.Compare(a.String(), b.String()) })
		return slices.Compact(out), nil
	}
	sn.sess.mu.Lock()
	defer sn.sess.mu.Unlock()
	out, err := sn.src.allTables(ctx, sn.sess.conn)
	if err != nil {
		return nil, fmt.Errorf("list the tables to capture: %w", err)
	}
	return out, nil
}

// columns reads a table's columns from information_schema (which no
// snapshot covers: a table altered since the snapshot began fails to be
// read instead, "Table definition has changed").
func (sn *Snapshot) columns(ctx context.Context, t Table) ([]infoColumn, error) {
	sn.sess.mu.Lock()
	defer sn.sess.mu.Unlock()
	return readColumns(ctx, sn.sess.conn, t)
}

// readColumns reads t's columns from information_schema on conn.
func readColumns(ctx context.Context, conn *sql.Conn, t Table) ([]infoColumn, error) {
	rows, err := conn.QueryContext(ctx, `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE = 'YES', COLUMN_KEY = 'PRI',
			COALESCE(NUMERIC_PRECISION, 0), COALESCE(NUMERIC_SCALE, 0), COALESCE(DATETIME_PRECISION, 0), COALESCE(CHARACTER_SET_NAME, '')
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, t.Schema, t.Name)
	if err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", t, err)
	}
	defer rows.Close()
	var out []infoColumn
	for rows.Next() {
		var c infoColumn
		if err := rows.Scan(&c.name, &c.dataType, &c.columnType, &c.nullable, &c.primary, &c.precision, &c.scale, &c.fsp, &c.charset); err != nil {
			return nil, fmt.Errorf("read the columns of %s: %w", t, err)
		}
		c.dataType, c.columnType = strings.ToLower(c.dataType), strings.ToLower(c.columnType)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", t, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("read the columns of %s: no such table (or no privilege on it)", t)
	}
	return out, nil
}

// Schema returns the table's shape as the stream's TABLE_MAP would give
// it (see columnType): every column, in order, with its nullability, and
// Key on the primary key's columns. Version is 0: the caller numbers it
// (pipeline.Versions).
func (sn *Snapshot) Schema(ctx context.Context, t Table) (pipeline.TableSchema, error) {
	ts := pipeline.TableSchema{Database: sn.src.cfg.Database, Schema: t.Schema, Table: t.Name}
	cols, err := sn.columns(ctx, t)
	if err != nil {
		return ts, err
	}
	for _, c := range cols {
		typ, err := columnType(c)
		if err != nil {
			return ts, fmt.Errorf("table %s column %s: %w", t, c.name, err)
		}
		ts.Columns = append(ts.Columns, pipeline.Column{Name: c.name, Type: typ, Nullable: c.nullable, Key: c.primary})
	}
	return ts, nil
}

// Resumable reports whether a chunked copy of the table may be finished
// at a later point than it began (pipeline.run resumes an interrupted
// snapshot by chunk), which is what every Snapshot but the slot's own
// does anyway: true when the table has a primary key (the columns its
// schema marks Key, which a reader applies the changes by) and the server
// logs full row images (see Snapshot).
func (sn *Snapshot) Resumable(ctx context.Context, t Table) (bool, error) {
	cols, err := sn.columns(ctx, t)
	if err != nil {
		return false, err
	}
	return sn.full && slices.ContainsFunc(cols, func(c infoColumn) bool { return c.primary }), nil
}

// Read streams every row of the table of ts as OpRead changes (see
// ReadChunk) and returns their number.
func (sn *Snapshot) Read(ctx context.Context, ts *pipeline.TableSchema, emit func(*pipeline.Change) error) (int64, error) {
	return sn.ReadChunk(ctx, ts, Chunking{Chunks: 1}, 0, sn.lsn, emit)
}

// ReadChunk streams the rows of chunk i of the table of ts (which Schema
// returned, numbered) as OpRead changes whose LSN is lsn (the snapshot's
// point, or, for a chunk of a snapshot resumed at a later point, the point
// of the snapshot it completes), one row in memory at a time, and returns
// their number. A table without a key is read in the session at lsn,
// whichever Snapshot is asked (ErrNotExact when there is none).
func (sn *Snapshot) ReadChunk(ctx context.Context, ts *pipeline.TableSchema, c Chunking, i int, lsn pipeline.LSN,
	emit func(*pipeline.Change) error) (int64, error) {
	t := Table{Schema: ts.Schema, Name: ts.Table}
	where, args, err := where(c, ts, i)
	if err != nil {
		return 0, fmt.Errorf("snapshot of %s chunk %d: %w", t, i, err)
	}
	sess, err := sn.sessionFor(ts, lsn)
	if err != nil {
		return 0, fmt.Errorf("snapshot of %s: %w", t, err)
	}
	exprs := make([]string, len(ts.Columns))
	for j, col := range ts.Columns {
		exprs[j] = statement.QuoteIdentMySQL(col.Name)
		if rawBytes(col.Type) {
			exprs[j] = "CAST(" + exprs[j] + " AS BINARY)"
		}
	}
	q := "SELECT " + strings.Join(exprs, ", ") + " FROM " + quoted(t) + where
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.closed {
		return 0, fmt.Errorf("snapshot of %s: the session is closed", t)
	}
	// A prepared statement: the binary protocol gives FLOAT and DOUBLE
	// exactly, where their text loses digits.
	stmt, err := sess.conn.PrepareContext(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("snapshot of %s: %w", t, err)
	}
	defer stmt.Close()
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return 0, fmt.Errorf("snapshot of %s chunk %d: %w", t, i, err)
	}
	defer rows.Close()
	vals := make([]any, len(ts.Columns))
	ptrs := make([]any, len(vals))
	for j := range vals {
		ptrs[j] = &vals[j]
	}
	src := pipeline.Source{LSN: lsn, Database: ts.Database, Schema: ts.Schema, Table: ts.Table, Snapshot: true,
		Binlog: sn.seam(lsn)}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("snapshot of %s row %d: %w", t, n+1, err)
		}
		row := make(pipeline.Row, len(vals))
		for j, v := range vals {
			if row[j], err = value(ts.Columns[j].Type, v); err != nil {
				return n, fmt.Errorf("snapshot of %s row %d column %s: %w", t, n+1, ts.Columns[j].Name, err)
			}
		}
		if err := emit(&pipeline.Change{Op: pipeline.OpRead, Schema: ts, After: row, Source: src}); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("snapshot of %s chunk %d: %w", t, i, err)
	}
	return n, nil
}

// seam returns the place in the binary log of the snapshot point lsn: its
// session's position (GTIDs, file, offset), or for the point of an older
// snapshot a chunk completes, the file and offset lsn stands for.
func (sn *Snapshot) seam(lsn pipeline.LSN) *pipeline.BinlogPosition {
	at := sn.sess.at
	sn.group.mu.Lock()
	if exact := sn.group.exact; exact != nil && lsnOf(exact.at) == lsn {
		at = exact.at
	}
	sn.group.mu.Unlock()
	if lsnOf(at) == lsn {
		return &pipeline.BinlogPosition{GTID: at.GTIDs.String(), File: at.File, Pos: at.Pos}
	}
	if file := fileNamed(at.File, uint32(lsn>>32)); file != "" {
		return &pipeline.BinlogPosition{File: file, Pos: uint32(lsn)}
	}
	return nil
}

// sessionFor returns the session to read the table of ts in: this one,
// unless the table needs the snapshot's exact point (no key, or no full
// row images) and this session is at another.
func (sn *Snapshot) sessionFor(ts *pipeline.TableSchema, lsn pipeline.LSN) (*session, error) {
	keyed := slices.ContainsFunc(ts.Columns, func(c pipeline.Column) bool { return c.Key })
	if (keyed && sn.full) || lsnOf(sn.sess.at) == lsn {
		return sn.sess, nil
	}
	sn.group.mu.Lock()
	exact := sn.group.exact
	sn.group.mu.Unlock()
	if exact == nil || lsnOf(exact.at) != lsn {
		why := "it has no primary key"
		if !sn.full {
			why = "the server does not log full row images (binlog_row_image)"
		}
		return nil, fmt.Errorf("%w (%s, so it must be read as of the snapshot's point %s)", ErrNotExact, why, lsn)
	}
	return exact, nil
}

// Close ends the snapshot's transaction and connection; a nil Snapshot is
// none.
func (sn *Snapshot) Close(ctx context.Context) error {
	if sn == nil {
		return nil
	}
	return sn.sess.close(ctx)
}
