package binlog

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/s3bridge/s3bridge/pipeline"
)

// ErrCompressed means the server writes compressed events
// (log_bin_compress=ON), which this package does not read.
var ErrCompressed = errors.New("compressed binlog events (log_bin_compress=ON) are not supported")

// ErrUnsupported is an event group this package can't turn into
// pipeline events faithfully: XA transactions, MySQL's partial JSON
// updates, DML logged as statements.
var ErrUnsupported = errors.New("unsupported binlog content")

// DDLPrefix is the Prefix of the pipeline.Message a stream emits for each
// statement the log holds as text — DDL (CREATE, ALTER, DROP, RENAME,
// TRUNCATE …) and the like (GRANT, CREATE USER); BEGIN, COMMIT and the
// like are not. Its Content is the statement's text. A statement in an
// event group of its own (most DDL) is not transactional and its LSN is
// the end of its group, the position to resume after it; one inside a
// transaction (CREATE TABLE … SELECT: the CREATE, then the rows) is
// transactional, its LSN the end of its event.
const DDLPrefix = "binlog.ddl"

// DDL is a statement the log holds as text (see DDLPrefix).
type DDL struct {
	// Database is the default database the statement ran in ("" for
	// none): its unqualified table names are in it.
	Database string
	SQL      string
	GTID     GTID
	// Transactional is set for a statement inside a transaction.
	Transactional bool
	// LSN is the end of the statement's group, or of its event inside a
	// transaction.
	LSN pipeline.LSN
}

// mark is the position after an event group, which Confirm turns into a
// Position.
type mark struct {
	end  pipeline.LSN
	gtid GTID
	file string
	pos  uint32
}

// group is the event group being read.
type group struct {
	gtid       gtidEvent
	commitTime time.Time
	begin      pipeline.LSN // where the group's first event starts
	// place is the group's place in the log, which each of its changes
	// points at (pipeline.Source.Binlog): one per group, not per change.
	place *pipeline.BinlogPosition
}

// decoder turns binlog events into pipeline events. It keeps the table
// maps, the layout (FORMAT_DESCRIPTION) and the position in the log.
type decoder struct {
	database   string
	collations Collations
	versions   *pipeline.Versions
	onSchema   func(*pipeline.TableSchema)
	onDDL      func(DDL)
	// include says which tables' changes are wanted; nil: all.
	include func(database, table string) bool
	// databases are StreamOptions.Databases.
	databases []string
	// onGroup is told the position after each event group.
	onGroup func(mark)

	tables map[uint64]*table // nil value: a table not included
	fde    *formatDescription
	alg    byte
	file   string
	seq    uint32 // file's sequence number
	pos    uint32 // offset just past the last event read
	gtids  GTIDSet
	// done is the place after the last complete group (the start
	// before one ends).
	done  Position
	group *group
	tx    *pipeline.Tx
	last  pipeline.LSN // the end of the last group
	out   []pipeline.Event
	alloc pipeline.Slabs
	// values holds the rows' values.
	values arena
	// missing collects the columns an image lacked.
	missing []int
}

func newDecoder(database string, collations Collations, versions *pipeline.Versions, start Position, alg byte) *decoder {
	d := &decoder{database: database, collations: collations, versions: versions, tables: map[uint64]*table{},
		alg: alg, gtids: start.GTIDs, file: start.File, pos: start.Pos, done: start}
	d.seq, _ = fileSeq(start.File)
	return d
}

// position returns the position after the last complete event group.
func (d *decoder) position() Position {
	return Position{GTIDs: d.gtids, File: d.done.File, Pos: d.done.Pos}
}

// decode handles one event (header, body and checksum) and appends the
// pipeline events it makes to d.out.
func (d *decoder) decode(ev []byte) error {
	h, body, alg, err := split(ev, d.alg, d.file, d.pos)
	if err != nil {
		if errors.As(err, new(*ChecksumError)) {
			return err // it names the place
		}
		return fmt.Errorf("binlog event after %s:%d: %w", d.file, d.pos, err)
	}
	start, end := d.pos, d.pos
	switch {
	case h.Flags&flagArtificial != 0 || h.Type == HeartbeatEvent:
		// Made up as the server sends: no place in the log.
	case h.LogPos != 0:
		if h.LogPos < h.Size {
			return fmt.Errorf("binlog %s event of %d bytes ends at %s:%d", h.Type, h.Size, d.file, h.LogPos)
		}
		start, end = h.LogPos-h.Size, h.LogPos
	case d.group != nil:
		// MariaDB 11.4+ writes the events of a transaction cache with
		// no position: they follow each other.
		end = d.pos + h.Size
	}
	if err := d.event(h, body, alg, start, end); err != nil {
		return fmt.Errorf("binlog %s event at %s:%d: %w", h.Type, d.file, start, err)
	}
	if h.Type != RotateEvent {
		d.pos = end
	}
	return nil
}

func (d *decoder) event(h Header, body []byte, alg byte, start, end uint32) error {
	postLen := func(def int) int { return d.fde.postHeaderLen(h.Type, def) }
	if n := postLen(0); len(body) < n && h.Type != FormatDescriptionEvent {
		return fmt.Errorf("%d bytes after the header, shorter than the %d of its post-header", len(body), n)
	}
	switch h.Type {
	case FormatDescriptionEvent:
		f, err := parseFormatDescription(body, alg)
		if err != nil {
			return err
		}
		d.fde, d.alg = f, alg
	case RotateEvent:
		r, err := parseRotate(body)
		if err != nil {
			return err
		}
		seq, err := fileSeq(r.file)
		if err != nil {
			return err
		}
		d.file, d.seq, d.pos = r.file, seq, uint32(r.pos)
	case GTIDListEvent:
		set, err := parseGTIDList(body)
		if err != nil {
			return err
		}
		// The list is the state where the log (or, sent first, the
		// stream) starts: it completes a start given by file and
		// offset, and never moves a domain back.
		for _, g := range set {
			if cur, ok := d.gtids.Domain(g.Domain); !ok || cur.Seq < g.Seq {
				d.gtids = d.gtids.With(g)
			}
		}
	case GTIDEvent:
		return d.gtid(h, body, start)
	case QueryEvent:
		q, err := parseQuery(body, postLen(13))
		if err != nil {
			return err
		}
		return d.query(q, end)
	case XIDEvent:
		if _, err := parseXID(body); err != nil {
			return err
		}
		return d.commit(end)
	case TableMapEvent:
		return d.tableMap(body, postLen(8))
	case WriteRowsEventV1, UpdateRowsEventV1, DeleteRowsEventV1, WriteRowsEventV2, UpdateRowsEventV2, DeleteRowsEventV2:
		ev, err := parseRows(h.Type, body, postLen(8))
		if err != nil {
			return err
		}
		return d.rows(ev)
	case QueryCompressedEvent, WriteRowsCompressedV1, UpdateRowsCompressedV1, DeleteRowsCompressedV1:
		return ErrCompressed
	case XAPrepareEvent:
		return fmt.Errorf("%w: XA PREPARE", ErrUnsupported)
	case PartialUpdateRowsEvent:
		return fmt.Errorf("%w: partial JSON updates (binlog_row_value_options=PARTIAL_JSON)", ErrUnsupported)
	}
	// Any other event (ANNOTATE_ROWS, HEARTBEAT, BINLOG_CHECKPOINT, STOP,
	// the statement-based INTVAR, RAND and USER_VAR, types unknown to this
	// package) carries nothing the pipeline needs: skipped by its length.
	return nil
}

func (d *decoder) lsn(pos uint32) pipeline.LSN { return lsnOf(d.seq, pos) }

// gtid starts an event group; a transactional one is a Begin.
func (d *decoder) gtid(h Header, body []byte, start uint32) error {
	g, err := parseGTID(body, h.ServerID)
	if err != nil {
		return err
	}
	if d.group != nil {
		return fmt.Errorf("group %s starts inside group %s", g.gtid, d.group.gtid.gtid)
	}
	if g.flags&(gtidPreparedXA|gtidCompletedXA) != 0 {
		return fmt.Errorf("%w: XA transaction %s", ErrUnsupported, g.gtid)
	}
	begin := d.lsn(start)
	if begin < d.last {
		return fmt.Errorf("group %s at %s is before the end of the previous group, %s: the log's positions went backwards (RESET MASTER, or another server?)",
			g.gtid, begin, d.last)
	}
	d.group = &group{gtid: g, commitTime: time.Unix(int64(h.Timestamp), 0).UTC(), begin: begin,
		place: &pipeline.BinlogPosition{GTID: g.gtid.String(), File: d.file, Pos: start, ServerID: g.gtid.Server}}
	if g.standalone() {
		return nil
	}
	// The binary log holds a transaction whole, written at its commit:
	// its first event's position orders it among the others as its
	// commit does, and stands for it (CommitLSN) before its end is read.
	d.tx = &pipeline.Tx{ID: int64(g.gtid.Seq), BeginLSN: begin, CommitLSN: begin, CommitTime: d.group.commitTime}
	d.out = append(d.out, pipeline.Event{Begin: d.tx})
	return nil
}

// query handles a statement logged as text.
func (d *decoder) query(q query, end uint32) error {
	if d.group == nil {
		return fmt.Errorf("statement outside an event group: %.60q", q.sql)
	}
	sql := strings.TrimSpace(q.sql)
	if d.group.gtid.standalone() {
		d.truncate(q.database, sql, end)
		d.ddl(q.database, sql, false, end)
		d.endGroup(end)
		return nil
	}
	switch word := firstWord(sql); word {
	case "BEGIN", "SAVEPOINT", "RELEASE":
		return nil
	case "COMMIT":
		return d.commit(end)
	case "ROLLBACK":
		// ROLLBACK TO SAVEPOINT undoes changes the log never had; a
		// group that ends with ROLLBACK changed non-transactional tables,
		// which stay changed: a commit either way.
		if strings.HasPrefix(strings.ToUpper(sql), "ROLLBACK TO") {
			return nil
		}
		return d.commit(end)
	case "INSERT", "UPDATE", "DELETE", "REPLACE", "LOAD":
		if d.elsewhere(q.database, sql) {
			return nil
		}
		return fmt.Errorf("%w: %s logged as a statement (binlog_format must be ROW): %.60q", ErrUnsupported, word, sql)
	}
	d.ddl(q.database, sql, true, end)
	return nil
}

// elsewhere reports whether a DML statement logged as text is another
// database's, by StreamOptions.Databases: run in none of them, and
// naming none of them (case-insensitively, anywhere in its text — a
// string literal that happens to hold the name counts too, which only
// errs on the safe side).
func (d *decoder) elsewhere(database, sql string) bool {
	if d.databases == nil {
		return false
	}
	lower := strings.ToLower(sql)
	for _, db := range d.databases {
		if strings.EqualFold(db, database) || strings.Contains(lower, strings.ToLower(db)) {
			return false
		}
	}
	return true
}

// ddl emits a statement logged as text (see DDLPrefix); end is the end of
// its event.
func (d *decoder) ddl(database, sql string, transactional bool, end uint32) {
	ddl := DDL{Database: database, SQL: utf8Text([]byte(sql)), GTID: d.group.gtid.gtid, Transactional: transactional, LSN: d.lsn(end)}
	if d.onDDL != nil {
		d.onDDL(ddl)
	}
	d.out = append(d.out, pipeline.Event{Message: &pipeline.Message{LSN: ddl.LSN, Transactional: transactional,
		Prefix: DDLPrefix, Content: []byte(ddl.SQL)}})
}

// truncate turns a TRUNCATE [TABLE] [db.]t of an included table into a
// transaction of one truncate change (the binary log holds it as a
// statement, not as rows). A table no schema version is known of has no
// rows in the pipeline's files since its last snapshot, so there is
// nothing to truncate.
func (d *decoder) truncate(database, sql string, end uint32) {
	if firstWord(sql) != "TRUNCATE" {
		return
	}
	name := strings.TrimSpace(sql[len("TRUNCATE"):])
	if w := firstWord(name); w == "TABLE" {
		name = strings.TrimSpace(name[len("TABLE"):])
	}
	db, table := splitQualified(name, database)
	if table == "" || (d.include != nil && !d.include(db, table)) {
		return
	}
	ts := d.versions.Latest(d.database + "." + db + "." + table)
	if ts == nil {
		return
	}
	tx := &pipeline.Tx{ID: int64(d.group.gtid.gtid.Seq), BeginLSN: d.group.begin, CommitLSN: d.group.begin, CommitTime: d.group.commitTime}
	commit := *tx
	commit.EndLSN = d.lsn(end)
	d.out = append(d.out, pipeline.Event{Begin: tx}, pipeline.Event{Change: &pipeline.Change{Op: pipeline.OpTruncate, Schema: ts,
		Source: pipeline.Source{LSN: tx.CommitLSN, TxID: tx.ID, CommitTime: tx.CommitTime, Database: d.database, Schema: db, Table: table,
			Binlog: d.group.place}}},
		pipeline.Event{Commit: &commit})
}

// splitQualified splits db.table (each part maybe `quoted`); a bare name
// is of database.
func splitQualified(name, database string) (string, string) {
	name = strings.TrimRight(strings.TrimSpace(name), "; \t\r\n")
	var parts []string
	for len(name) > 0 {
		var part string
		if name[0] == '`' {
			end := 1
			for end < len(name) {
				if name[end] == '`' {
					if end+1 < len(name) && name[end+1] == '`' {
						end += 2
						continue
					}
					break
				}
				end++
			}
			part = strings.ReplaceAll(name[1:min(end, len(name))], "``", "`")
			name = name[min(end+1, len(name)):]
		} else {
			end := strings.IndexAny(name, ". \t\r\n;")
			if end < 0 {
				end = len(name)
			}
			part, name = name[:end], name[end:]
		}
		parts = append(parts, part)
		name = strings.TrimSpace(name)
		if !strings.HasPrefix(name, ".") {
			break
		}
		name = name[1:]
	}
	switch len(parts) {
	case 1:
		return database, parts[0]
	case 2:
		return parts[0], parts[1]
	}
	return database, ""
}

func firstWord(sql string) string {
	end := strings.IndexAny(sql, " \t\r\n;(")
	if end < 0 {
		end = len(sql)
	}
	return strings.ToUpper(sql[:end])
}

// commit ends a transactional group at end: the Commit.
func (d *decoder) commit(end uint32) error {
	if d.group == nil || d.tx == nil {
		return fmt.Errorf("commit outside a transaction")
	}
	// A fresh value: the Begin event's Tx may be read by another
	// goroutine meanwhile, so it is never written after it went out.
	tx := *d.tx
	tx.EndLSN = d.lsn(end)
	d.tx = nil
	d.endGroup(end)
	d.out = append(d.out, pipeline.Event{Commit: &tx})
	return nil
}

func (d *decoder) endGroup(end uint32) {
	g := d.group.gtid.gtid
	d.gtids = d.gtids.With(g)
	d.group = nil
	d.done.File, d.done.Pos = d.file, end
	d.last = d.lsn(end)
	if d.onGroup != nil {
		d.onGroup(mark{end: d.last, gtid: g, file: d.file, pos: end})
	}
}

// tableMap handles a TABLE_MAP event: a table's decoders and schema
// version, made again only when the event differs from the last of its
// table id.
func (d *decoder) tableMap(body []byte, postLen int) error {
	tm, err := parseTableMap(body, postLen)
	if err != nil {
		return err
	}
	if d.include != nil && !d.include(tm.database, tm.table) {
		d.tables[tm.id] = nil
		return nil
	}
	if tb := d.tables[tm.id]; tb != nil && bytes.Equal(tb.body, body) {
		return nil
	}
	tb, shape, err := newTable(tm, d.database, d.collations)
	if err != nil {
		return err
	}
	ts, isNew := d.versions.Evolve(shape)
	tb.schema, tb.body = ts, append([]byte(nil), body...)
	d.tables[tm.id] = tb
	if isNew && d.onSchema != nil {
		d.onSchema(ts)
	}
	return nil
}

// rows turns a rows event into changes.
func (d *decoder) rows(ev rowsEvent) error {
	tb, known := d.tables[ev.tableID]
	switch {
	case !known:
		if ev.tableID == 0xffffff && ev.flags&rowsFlagStmtEnd != 0 {
			return nil // a dummy event that only ends a statement
		}
		return fmt.Errorf("rows of table id %d, which no TABLE_MAP announced", ev.tableID)
	case tb == nil:
		return nil // a table not included
	case d.tx == nil:
		return fmt.Errorf("%s rows of %s outside a transaction", ev.op, tb.schema.QualifiedName())
	case ev.columns != len(tb.columns):
		return fmt.Errorf("%s rows of %s with %d columns; its TABLE_MAP has %d", ev.op, tb.schema.QualifiedName(), ev.columns, len(tb.columns))
	}
	tx := d.tx
	nPresent, nAfter := presentCount(ev.present, ev.columns), presentCount(ev.after, ev.columns)
	b := ev.rows
	for len(b) > 0 {
		left := len(b)
		// Field by field: c is a fresh zero Change, and assigning a whole
		// struct literal costs a copy with bulk write barriers.
		c := d.alloc.Change()
		c.Op, c.Schema = ev.op, tb.schema
		c.Source.LSN, c.Source.TxID, c.Source.CommitTime = tx.CommitLSN, tx.ID, tx.CommitTime
		c.Source.Database, c.Source.Schema, c.Source.Table = d.database, tb.schema.Schema, tb.schema.Table
		c.Source.Binlog = d.group.place
		var err error
		if ev.op != pipeline.OpCreate {
			c.Before = d.alloc.Row(len(tb.columns))
			// Columns left out of a before image (binlog_row_image
			// MINIMAL: all but the key) are nil, as a key-only image's.
			if b, _, err = tb.row(c.Before, ev.present, nPresent, b, d.missing[:0], &d.values); err != nil {
				return fmt.Errorf("%s %s before image: %w", ev.op, tb.schema.QualifiedName(), err)
			}
		}
		if ev.op != pipeline.OpDelete {
			present, n := ev.present, nPresent
			if ev.op == pipeline.OpUpdate {
				present, n = ev.after, nAfter
			}
			c.After = d.alloc.Row(len(tb.columns))
			if b, d.missing, err = tb.row(c.After, present, n, b, d.missing[:0], &d.values); err != nil {
				return fmt.Errorf("%s %s after image: %w", ev.op, tb.schema.QualifiedName(), err)
			}
			// Columns left out of an after image were not changed (or,
			// for an insert, not given): not NULL, not sent.
			for _, i := range d.missing {
				c.UnchangedToast = append(c.UnchangedToast, tb.schema.Columns[i].Name)
			}
		}
		if len(b) == left {
			// Images of no columns: rows that take no room, without end.
			return fmt.Errorf("%s rows of %s with no column", ev.op, tb.schema.QualifiedName())
		}
		d.out = append(d.out, pipeline.Event{Change: c})
	}
	return nil
}
