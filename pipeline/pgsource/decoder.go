package pgsource

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jackc/pglogrepl"

	"github.com/s3bridge/s3bridge/pipeline"
)

// relation is what a Relation message told us about a table, with the
// schema version its rows are written with.
type relation struct {
	schema *pipeline.TableSchema
}

// decoder turns pgoutput messages (protocol version 1) into pipeline
// events. It keeps the relations pgoutput announced and the latest schema
// version of each table.
type decoder struct {
	database string
	types    *typeResolver
	values   *valueDecoder
	// relations by relation OID, as announced on this connection.
	relations map[uint32]*relation
	// versions numbers the tables' schema versions, shared with the
	// snapshots that run beside the stream.
	versions *pipeline.Versions
	tx       *pipeline.Tx
	// alloc holds the changes and rows handed out.
	alloc pipeline.Slabs
	// onSchema, when set, is told of every new schema version.
	onSchema func(*pipeline.TableSchema)
}

func newDecoder(database string, types *typeResolver, versions *pipeline.Versions) *decoder {
	return &decoder{database: database, types: types, values: newValueDecoder(types.delims),
		relations: map[uint32]*relation{}, versions: versions}
}

// decode handles one logical replication message read at walStart and
// returns the event it makes, if any.
func (d *decoder) decode(ctx context.Context, walStart pglogrepl.LSN, data []byte) (pipeline.Event, bool, error) {
	if len(data) > 0 {
		switch data[0] {
		case 'I', 'U', 'D':
			c, err := d.rowMessage(data)
			return pipeline.Event{Change: c}, err == nil, err
		}
	}
	msg, err := pglogrepl.Parse(data)
	if err != nil {
		return pipeline.Event{}, false, fmt.Errorf("parse pgoutput message at %s: %w", walStart, err)
	}
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		return pipeline.Event{}, false, d.relation(ctx, m)
	case *pglogrepl.BeginMessage:
		if d.tx != nil {
			return pipeline.Event{}, false, fmt.Errorf("begin of transaction %d at %s inside transaction %d", m.Xid, walStart, d.tx.ID)
		}
		d.tx = &pipeline.Tx{ID: int64(m.Xid), BeginLSN: pipeline.LSN(walStart),
			CommitLSN: pipeline.LSN(m.FinalLSN), CommitTime: m.CommitTime.UTC()}
		return pipeline.Event{Begin: d.tx}, true, nil
	case *pglogrepl.CommitMessage:
		if d.tx == nil {
			return pipeline.Event{}, false, fmt.Errorf("commit at %s outside a transaction", m.CommitLSN)
		}
		// A fresh value: the Begin event's Tx may be read by another
		// goroutine meanwhile, so it is never written after it went out.
		tx := *d.tx
		d.tx = nil
		tx.CommitLSN, tx.EndLSN = pipeline.LSN(m.CommitLSN), pipeline.LSN(m.TransactionEndLSN)
		return pipeline.Event{Commit: &tx}, true, nil
	case *pglogrepl.TruncateMessage:
		return pipeline.Event{}, false, fmt.Errorf("truncate must go through decodeTruncate")
	case *pglogrepl.LogicalDecodingMessage:
		return pipeline.Event{Message: &pipeline.Message{LSN: pipeline.LSN(m.LSN), Transactional: m.Transactional,
			Prefix: m.Prefix, Content: append([]byte(nil), m.Content...)}}, true, nil
	default:
		// Origin and Type messages carry nothing the files need: types are
		// resolved from pg_type by OID.
		return pipeline.Event{}, false, nil
	}
}

// decodeTruncate returns one change per truncated table.
func (d *decoder) decodeTruncate(m *pglogrepl.TruncateMessage) ([]pipeline.Event, error) {
	evs := make([]pipeline.Event, 0, len(m.RelationIDs))
	for _, id := range m.RelationIDs {
		c, err := d.change(id, pipeline.OpTruncate)
		if err != nil {
			return nil, err
		}
		evs = append(evs, pipeline.Event{Change: c})
	}
	return evs, nil
}

func (d *decoder) relation(ctx context.Context, m *pglogrepl.RelationMessage) error {
	cur := pipeline.TableSchema{Database: d.database, Schema: m.Namespace, Table: m.RelationName}
	// pgoutput doesn't send an array column's declared dimensions.
	dims, err := d.types.dims(ctx, m.RelationID)
	if err != nil {
		return fmt.Errorf("relation %s.%s: %w", m.Namespace, m.RelationName, err)
	}
	for _, c := range m.Columns {
		t, err := d.types.resolve(ctx, c.DataType, c.TypeModifier, dims[c.Name])
		if err != nil {
			return fmt.Errorf("relation %s.%s column %s: %w", m.Namespace, m.RelationName, c.Name, err)
		}
		// pgoutput doesn't say whether a column is NOT NULL; every column
		// is nullable to the files (a key-only before image has NULLs in
		// NOT NULL columns anyway).
		cur.Columns = append(cur.Columns, pipeline.Column{Name: c.Name, Type: t, Nullable: true, Key: c.Flags&1 != 0})
	}
	next, isNew := d.versions.Evolve(cur)
	d.relations[m.RelationID] = &relation{schema: next}
	if isNew && d.onSchema != nil {
		d.onSchema(next)
	}
	return nil
}

// change starts a change of relation relID in the open transaction.
func (d *decoder) change(relID uint32, op pipeline.Op) (*pipeline.Change, error) {
	if d.tx == nil {
		return nil, fmt.Errorf("%s change of relation %d outside a transaction", op, relID)
	}
	rel, ok := d.relations[relID]
	if !ok {
		return nil, fmt.Errorf("%s change of relation %d that was not announced", op, relID)
	}
	ts := rel.schema
	c := d.alloc.Change()
	*c = pipeline.Change{Op: op, Schema: ts, Source: pipeline.Source{
		LSN: d.tx.CommitLSN, TxID: d.tx.ID, CommitTime: d.tx.CommitTime,
		Database: ts.Database, Schema: ts.Schema, Table: ts.Table,
	}}
	return c, nil
}

// rowMessage decodes an Insert ('I'), Update ('U') or Delete ('D') message
// of protocol version 1 (no transaction ID: that comes with streamed
// transactions): the relation ID, then an old tuple ('K' key columns, 'O'
// every column, under REPLICA IDENTITY FULL) and a new one ('N'), as the
// message type allows. The tuples are read from data directly rather than
// with pglogrepl.Parse, which copies every value byte by byte into objects
// of its own (a third of a row's decoding time) and panics on a truncated
// message.
func (d *decoder) rowMessage(data []byte) (*pipeline.Change, error) {
	op := pipeline.OpCreate
	switch data[0] {
	case 'U':
		op = pipeline.OpUpdate
	case 'D':
		op = pipeline.OpDelete
	}
	if len(data) < 6 {
		return nil, fmt.Errorf("%s message of %d bytes", op, len(data))
	}
	c, err := d.change(binary.BigEndian.Uint32(data[1:5]), op)
	if err != nil {
		return nil, err
	}
	ts := c.Schema
	p := data[5:]
	oldType := p[0]
	if op != pipeline.OpCreate && (oldType == 'K' || oldType == 'O') {
		if c.Before, _, p, err = d.row(ts, p[1:], nil); err != nil {
			return nil, fmt.Errorf("%s %s before image: %w", op, ts.QualifiedName(), err)
		}
	}
	switch {
	case op == pipeline.OpDelete && c.Before == nil:
		return nil, fmt.Errorf("%s %s: no old tuple", op, ts.QualifiedName())
	case op != pipeline.OpDelete:
		if len(p) == 0 || p[0] != 'N' {
			return nil, fmt.Errorf("%s %s: no new tuple", op, ts.QualifiedName())
		}
		// With REPLICA IDENTITY FULL the old tuple holds every column,
		// TOASTed ones included: fill unchanged values from it.
		var fill pipeline.Row
		if oldType == 'O' {
			fill = c.Before
		}
		if c.After, c.UnchangedToast, p, err = d.row(ts, p[1:], fill); err != nil {
			return nil, fmt.Errorf("%s %s after image: %w", op, ts.QualifiedName(), err)
		}
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("%s %s: %d bytes after the last tuple", op, ts.QualifiedName(), len(p))
	}
	return c, nil
}

var errTruncated = errors.New("tuple truncated")

// row decodes a TupleData and returns what follows it. A column marked
// unchanged-TOAST ('u') takes its value from fill when fill has it;
// otherwise its value stays nil and its name is returned among the
// unchanged columns — never a NULL by accident.
func (d *decoder) row(ts *pipeline.TableSchema, p []byte, fill pipeline.Row) (pipeline.Row, []string, []byte, error) {
	if len(p) < 2 {
		return nil, nil, nil, errTruncated
	}
	if n := int(binary.BigEndian.Uint16(p)); n != len(ts.Columns) {
		return nil, nil, nil, fmt.Errorf("tuple has %d columns, relation has %d", n, len(ts.Columns))
	}
	p = p[2:]
	row := d.alloc.Row(len(ts.Columns))
	var unchanged []string
	for i := range row {
		if len(p) == 0 {
			return nil, nil, nil, errTruncated
		}
		kind := p[0]
		p = p[1:]
		switch kind {
		case pglogrepl.TupleDataTypeNull:
		case pglogrepl.TupleDataTypeToast:
			if fill != nil && fill[i] != nil {
				row[i] = fill[i]
			} else {
				unchanged = append(unchanged, ts.Columns[i].Name)
			}
		case pglogrepl.TupleDataTypeText:
			if len(p) < 4 {
				return nil, nil, nil, errTruncated
			}
			n := binary.BigEndian.Uint32(p)
			if uint64(n) > uint64(len(p)-4) {
				return nil, nil, nil, errTruncated
			}
			v, err := d.values.decode(ts.Columns[i].Type, p[4:4+n])
			if err != nil {
				return nil, nil, nil, fmt.Errorf("column %s (%s): %w", ts.Columns[i].Name, ts.Columns[i].Type.Name, err)
			}
			row[i] = v
			p = p[4+n:]
		default:
			return nil, nil, nil, fmt.Errorf("column %s: tuple data type %q not requested", ts.Columns[i].Name, kind)
		}
	}
	return row, unchanged, p, nil
}
