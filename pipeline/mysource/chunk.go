package mysource

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/statement"
)

// Chunking cuts a table into ranges of a unique key (its primary key, or
// a unique index of NOT NULL columns; InnoDB has no ctid), which sessions
// read in parallel and which partition its rows exactly: chunk 0 holds
// the rows whose key is below Bounds[0], chunk i those from Bounds[i-1]
// up to (not including) Bounds[i], the last one those from the last bound
// on. The bounds may be any values of the key (each row falls in exactly
// one range whatever they are, as long as they grow), so rows added or
// removed since the plan change only the chunks' sizes. A table without
// such a key is one chunk. It is plain data, JSON-encodable, for the
// checkpoint of a snapshot in progress.
type Chunking = pipeline.Chunking

// keyCol is a column of a chunk key.
type keyCol struct {
	name string
	typ  pipeline.Type
}

// chunkable reports the types whose comparisons in SQL order their values
// as ORDER BY does, given back as the text the server sent: not ENUM (by
// index, compared as text), SET, floating point, BIT, the blobs and texts
// (prefix keys) and geometries.
func chunkable(t pipeline.Type) bool {
	switch t.Kind {
	case pipeline.KindInt32, pipeline.KindInt64, pipeline.KindDecimal, pipeline.KindDate, pipeline.KindTime,
		pipeline.KindTimestamp, pipeline.KindTimestampTZ:
		return true
	case pipeline.KindString:
		return t.Name == "char" || t.Name == "varchar"
	case pipeline.KindBytes:
		return t.Name == "binary" || t.Name == "varbinary"
	}
	return false
}

// chunkKey returns the columns of the table's primary key, else of its
// first unique index (by name) of NOT NULL columns; nil when it has
// neither or a column's type can't bound chunks.
func (sn *Snapshot) chunkKey(ctx context.Context, t Table) ([]keyCol, error) {
	cols, err := sn.columns(ctx, t)
	if err != nil {
		return nil, err
	}
	types := map[string]pipeline.Type{}
	for _, c := range cols {
		if typ, err := columnType(c); err == nil {
			types[c.name] = typ
		}
	}
	sn.sess.mu.Lock()
	rows, err := sn.sess.conn.QueryContext(ctx, `SELECT INDEX_NAME, COLUMN_NAME, NULLABLE = 'YES'
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0
		ORDER BY INDEX_NAME <> 'PRIMARY', INDEX_NAME, SEQ_IN_INDEX`, t.Schema, t.Name)
	if err != nil {
		sn.sess.mu.Unlock()
		return nil, fmt.Errorf("read the unique keys of %s: %w", t, err)
	}
	type index struct {
		cols     []string
		nullable bool
	}
	var order []string
	indexes := map[string]*index{}
	for rows.Next() {
		var name, col string
		var nullable bool
		if err := rows.Scan(&name, &col, &nullable); err != nil {
			rows.Close()
			sn.sess.mu.Unlock()
			return nil, fmt.Errorf("read the unique keys of %s: %w", t, err)
		}
		ix := indexes[name]
		if ix == nil {
			ix = &index{}
			indexes[name] = ix
			order = append(order, name)
		}
		ix.cols = append(ix.cols, col)
		ix.nullable = ix.nullable || nullable
	}
	err = rows.Err()
	rows.Close()
	sn.sess.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("read the unique keys of %s: %w", t, err)
	}
	for _, name := range order {
		ix := indexes[name]
		if ix.nullable {
			continue
		}
		key := make([]keyCol, len(ix.cols))
		for i, c := range ix.cols {
			typ, ok := types[c]
			if !ok || !chunkable(typ) {
				return nil, nil
			}
			key[i] = keyCol{name: c, typ: typ}
		}
		return key, nil
	}
	return nil, nil
}

// Plan cuts the table into chunks of about rows rows each (at most
// maxChunks), by the key (see Chunking): a single integer key whose values
// are dense enough (from MIN to MAX, at most 4 per row the statistics
// estimate) into equal ranges of values, any other by walking the key in
// order, rows rows a step (a scan of the key's index).
func (sn *Snapshot) Plan(ctx context.Context, t Table, rows int64, maxChunks int) (Chunking, error) {
	key, err := sn.chunkKey(ctx, t)
	if err != nil || len(key) == 0 || rows <= 0 || maxChunks <= 1 {
		return Chunking{Chunks: 1}, err
	}
	var est int64
	sn.sess.mu.Lock()
	err = sn.sess.conn.QueryRowContext(ctx, `SELECT COALESCE(TABLE_ROWS, 0) FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, t.Schema, t.Name).Scan(&est)
	sn.sess.mu.Unlock()
	if err != nil {
		return Chunking{}, fmt.Errorf("estimate the rows of %s: %w", t, err)
	}
	n := int(min((est+rows-1)/rows, int64(maxChunks)))
	if n <= 1 {
		return Chunking{Chunks: 1}, nil
	}
	c := Chunking{Key: make([]string, len(key))}
	for i, k := range key {
		c.Key[i] = k.name
	}
	if len(key) == 1 && (key[0].typ.Kind == pipeline.KindInt32 || key[0].typ.Kind == pipeline.KindInt64 || key[0].typ.Name == "bigint unsigned") {
		bounds, ok, err := sn.evenBounds(ctx, t, key[0], est, n)
		if err != nil {
			return Chunking{}, err
		}
		if ok {
			c.Bounds = bounds
			c.Chunks = len(bounds) + 1
			return c, nil
		}
	}
	per := max((est+int64(n)-1)/int64(n), 1)
	if c.Bounds, err = sn.walkBounds(ctx, t, key, per, n-1); err != nil {
		return Chunking{}, err
	}
	c.Chunks = len(c.Bounds) + 1
	if c.Chunks == 1 {
		c.Key = nil
	}
	return c, nil
}

// evenBounds cuts [MIN, MAX] of an integer key into n ranges; ok is false
// when the values are too sparse for ranges of values to hold about as
// many rows each.
func (sn *Snapshot) evenBounds(ctx context.Context, t Table, k keyCol, est int64, n int) ([][][]byte, bool, error) {
	var lo, hi sql.NullString
	q := "SELECT CAST(MIN(" + statement.QuoteIdentMySQL(k.name) + ") AS CHAR), CAST(MAX(" + statement.QuoteIdentMySQL(k.name) + ") AS CHAR) FROM " + quoted(t)
	sn.sess.mu.Lock()
	err := sn.sess.conn.QueryRowContext(ctx, q).Scan(&lo, &hi)
	sn.sess.mu.Unlock()
	if err != nil {
		return nil, false, fmt.Errorf("key range of %s: %w", t, err)
	}
	if !lo.Valid || !hi.Valid {
		return nil, true, nil // empty: one chunk
	}
	a, ok1 := new(big.Int).SetString(lo.String, 10)
	b, ok2 := new(big.Int).SetString(hi.String, 10)
	if !ok1 || !ok2 {
		return nil, false, fmt.Errorf("key range of %s: %q to %q", t, lo.String, hi.String)
	}
	span := new(big.Int).Sub(b, a)
	span.Add(span, big.NewInt(1))
	if span.Cmp(big.NewInt(4*max(est, 1))) > 0 {
		return nil, false, nil
	}
	var bounds [][][]byte
	for i := 1; i < n; i++ {
		v := new(big.Int).Mul(span, big.NewInt(int64(i)))
		v.Quo(v, big.NewInt(int64(n)))
		v.Add(v, a)
		s := []byte(v.String())
		if len(bounds) > 0 && string(bounds[len(bounds)-1][0]) == string(s) {
			continue
		}
		bounds = append(bounds, [][]byte{s})
	}
	return bounds, true, nil
}

// walkBounds walks the key in order and takes the key of every per-th row,
// at most max of them.
func (sn *Snapshot) walkBounds(ctx context.Context, t Table, key []keyCol, per int64, most int) ([][][]byte, error) {
	names := make([]string, len(key))
	for i, k := range key {
		names[i] = statement.QuoteIdentMySQL(k.name)
	}
	list := strings.Join(names, ", ")
	sn.sess.mu.Lock()
	defer sn.sess.mu.Unlock()
	var bounds [][][]byte
	for len(bounds) < most {
		q := "SELECT " + list + " FROM " + quoted(t)
		var args []any
		skip := per
		if len(bounds) > 0 {
			cond, a, err := compare(key, bounds[len(bounds)-1], ">")
			if err != nil {
				return nil, err
			}
			q += " WHERE " + cond
			args, skip = a, per-1
		}
		q += " ORDER BY " + list + " LIMIT 1 OFFSET " + strconv.FormatInt(skip, 10)
		vals := make([]any, len(key))
		ptrs := make([]any, len(key))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		err := sn.sess.conn.QueryRowContext(ctx, q, args...).Scan(ptrs...)
		if err == sql.ErrNoRows {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("walk the key of %s: %w", t, err)
		}
		bound := make([][]byte, len(vals))
		for i, v := range vals {
			bound[i] = []byte(text(v))
		}
		bounds = append(bounds, bound)
	}
	return bounds, nil
}

// where returns the condition of chunk i of the table of ts, with its
// arguments: "" for a table of one chunk.
func where(c Chunking, ts *pipeline.TableSchema, i int) (string, []any, error) {
	if c.Chunks <= 1 {
		if i != 0 {
			return "", nil, fmt.Errorf("chunk %d of 1", i)
		}
		return "", nil, nil
	}
	if i < 0 || i >= c.Chunks || len(c.Bounds) != c.Chunks-1 || len(c.Key) == 0 {
		return "", nil, fmt.Errorf("chunk %d of %d with %d bounds of %d key columns", i, c.Chunks, len(c.Bounds), len(c.Key))
	}
	key := make([]keyCol, len(c.Key))
	for j, name := range c.Key {
		k := ts.Index(name)
		if k < 0 {
			return "", nil, fmt.Errorf("key column %s is not in the table's schema version %d", name, ts.Version)
		}
		key[j] = keyCol{name: name, typ: ts.Columns[k].Type}
	}
	var conds []string
	var args []any
	if i > 0 {
		cond, a, err := compare(key, c.Bounds[i-1], ">=")
		if err != nil {
			return "", nil, err
		}
		conds, args = append(conds, cond), append(args, a...)
	}
	if i < c.Chunks-1 {
		cond, a, err := compare(key, c.Bounds[i], "<")
		if err != nil {
			return "", nil, err
		}
		conds, args = append(conds, cond), append(args, a...)
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// compare returns "key op bound" for a key of several columns, compared
// in order (a row comparison written out, which the range optimizer
// reads as ranges of the index): for (a, b) >= (x, y),
// "(a > ? OR (a = ? AND b >= ?))".
func compare(key []keyCol, bound [][]byte, op string) (string, []any, error) {
	if len(bound) != len(key) {
		return "", nil, fmt.Errorf("a bound of %d values for a key of %d columns", len(bound), len(key))
	}
	strict := op[:1] // > or <
	var b strings.Builder
	var args []any
	for j, k := range key {
		v, err := arg(k.typ, bound[j])
		if err != nil {
			return "", nil, fmt.Errorf("bound of key column %s: %w", k.name, err)
		}
		name := statement.QuoteIdentMySQL(k.name)
		if j == len(key)-1 {
			b.WriteString(name + " " + op + " ?")
			args = append(args, v)
			break
		}
		b.WriteString("(" + name + " " + strict + " ? OR (" + name + " = ? AND ")
		args = append(args, v, v)
	}
	b.WriteString(strings.Repeat("))", len(key)-1))
	return b.String(), args, nil
}

// arg is a bound's value as a statement argument: integers as integers
// (compared with a string, MariaDB would compare them as doubles), the
// others as the server's text.
func arg(t pipeline.Type, v []byte) (any, error) {
	switch {
	case t.Kind == pipeline.KindInt32 || t.Kind == pipeline.KindInt64:
		return strconv.ParseInt(string(v), 10, 64)
	case t.Name == "bigint unsigned":
		return strconv.ParseUint(string(v), 10, 64)
	case t.Kind == pipeline.KindBytes:
		return v, nil
	}
	return string(v), nil
}
