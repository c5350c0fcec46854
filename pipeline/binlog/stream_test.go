package binlog

import (
	"crypto/md5"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/s3bridge/s3bridge/mysqlproto"
	"github.com/s3bridge/s3bridge/pipeline"
)

// everyTypeScript is what TestEveryType runs after creating the table;
// after each statement the test reads the server's texts of the rows.
var everyTypeScript = []string{
	"", // the insert
	"UPDATE `every` SET `ti` = `ti` + 1, `vc` = 'updated ✓', `dtm6` = '2000-01-01 00:00:00.000001', `e` = 'a', `biu` = 0, `ts` = NULL WHERE `id` = 1",
	"DELETE FROM `every` WHERE `id` = 2",
	"UPDATE `every` SET `i` = 1 WHERE `id` = 3",
}

// expected builds the changes TestEveryType's statements make, as the
// server's texts: states[k] is the table after statement k.
type expectedChange struct {
	op            pipeline.Op
	before, after []*string
}

func everyTypeExpected(states []map[string][]*string) []expectedChange {
	return []expectedChange{
		{op: pipeline.OpCreate, after: states[0]["1"]},
		{op: pipeline.OpCreate, after: states[0]["2"]},
		{op: pipeline.OpCreate, after: states[0]["3"]},
		{op: pipeline.OpUpdate, before: states[0]["1"], after: states[1]["1"]},
		{op: pipeline.OpDelete, before: states[1]["2"]},
		{op: pipeline.OpUpdate, before: states[2]["3"], after: states[3]["3"]},
	}
}

func checkChanges(t *testing.T, got []pipeline.Change, want []expectedChange, cols []typeCol) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d changes, want %d", len(got), len(want))
	}
	for i, w := range want {
		c := got[i]
		if c.Op != w.op {
			t.Errorf("change %d: op %s, want %s", i, c.Op, w.op)
			continue
		}
		checkSchema(t, c.Schema, cols)
		row := w.after
		if row == nil {
			row = w.before
		}
		what := func(img string) string { return c.Op.String() + " " + img + " of id " + *row[0] }
		if (c.Before == nil) != (w.before == nil) || (c.After == nil) != (w.after == nil) {
			t.Errorf("change %d (%s): before %v after %v", i, c.Op, c.Before != nil, c.After != nil)
			continue
		}
		if w.before != nil {
			compareRow(t, what("before"), c.Schema, c.Before, w.before, cols)
		}
		if w.after != nil {
			compareRow(t, what("after"), c.Schema, c.After, w.after, cols)
		}
		if len(c.UnchangedToast) > 0 {
			t.Errorf("change %d: columns not sent: %v", i, c.UnchangedToast)
		}
	}
}

// TestEveryType streams inserts, updates and deletes of a table with a
// column of every type MariaDB writes and compares every decoded value
// with the server's own text of it: NULLs, extremes, fractional seconds,
// multi-byte and non-UTF-8 charsets.
func TestEveryType(t *testing.T) {
	e := newEnv(t, createTable("every", everyType))
	var schemas []*pipeline.TableSchema
	capt := &capturer{t: t, db: e.name, colls: map[uint32]bool{}}
	st := e.stream(StreamOptions{OnSchema: func(ts *pipeline.TableSchema) { schemas = append(schemas, ts) }, Raw: capt.add})
	e.exec(insertRows("every", everyType))
	states := []map[string][]*string{oracle(t, e.db, "every", everyType)}
	for _, s := range everyTypeScript[1:] {
		e.exec(s)
		states = append(states, oracle(t, e.db, "every", everyType))
	}
	e.exec("ALTER TABLE `every` DROP COLUMN `p`") // a DDL for the capture
	got, txs := changes(t, st, 6)
	want := everyTypeExpected(states)
	checkChanges(t, got, want, everyType)
	if *update {
		for {
			ev, err := st.Next(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if ev.Message != nil && string(ev.Message.Content) == "ALTER TABLE `every` DROP COLUMN `p`" {
				break
			}
		}
		capt.save(st, want)
	}
	if len(schemas) != 1 || schemas[0].Version != 1 || schemas[0].Schema != e.name || schemas[0].Table != "every" {
		t.Errorf("schemas announced: %+v", schemas)
	}
	if len(txs) != 4 {
		t.Fatalf("%d transactions, want 4", len(txs))
	}
	for i, tx := range txs {
		if tx.BeginLSN != tx.CommitLSN || tx.EndLSN <= tx.CommitLSN || (i > 0 && tx.CommitLSN < txs[i-1].EndLSN) {
			t.Errorf("transaction %d: LSNs %s %s %s", tx.ID, tx.BeginLSN, tx.CommitLSN, tx.EndLSN)
		}
	}
}

// TestMetadataLists streams tables whose columns the TABLE_MAP's optional
// metadata lists in several ways: signedness and charsets counted over
// interleaved columns, charsets as a default with exceptions and as one
// per column.
func TestMetadataLists(t *testing.T) {
	tests := []struct {
		name    string
		cols    []typeCol
		charset byte // the charset field the server sends, 0: either
	}{
		{"mostly", mostly, metaDefaultCharset},
		{"interleaved", interleaved, 0},
		{"distinct", distinct, metaColumnCharset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, createTable(tt.name, tt.cols))
			var fields []byte
			st := e.stream(StreamOptions{Raw: func(ev []byte) {
				if tm := rawTableMap(t, ev); tm != nil && tm.table == tt.name {
					fields = tm.fields
				}
			}})
			e.exec(insertRows(tt.name, tt.cols))
			rows := oracle(t, e.db, tt.name, tt.cols)
			got, _ := changes(t, st, 3)
			want := []expectedChange{{op: pipeline.OpCreate, after: rows["1"]}, {op: pipeline.OpCreate, after: rows["2"]},
				{op: pipeline.OpCreate, after: rows["3"]}}
			checkChanges(t, got, want, tt.cols)
			if !slices.Contains(fields, metaColumnName) || !slices.Contains(fields, metaSignedness) ||
				(tt.charset != 0 && !slices.Contains(fields, tt.charset)) {
				t.Errorf("TABLE_MAP optional fields %v: want names, signedness and charset field %d", fields, tt.charset)
			}
		})
	}
}

// TestLargeRow streams rows of more than 16 MiB, whose events span
// several packets: two 9 MiB LONGBLOBs (each within max_allowed_packet)
// make an 18 MiB row, and their update a 36 MiB event.
func TestLargeRow(t *testing.T) {
	e := newEnv(t, "CREATE TABLE `big` (`id` INT PRIMARY KEY, `a` LONGBLOB, `b` LONGTEXT)")
	biggest := 0
	st := e.stream(StreamOptions{Raw: func(ev []byte) { biggest = max(biggest, len(ev)) }})
	e.exec("INSERT INTO `big` VALUES (1, REPEAT('a', 9 << 20), REPEAT('ß', 9 << 19))")
	e.exec("UPDATE `big` SET `a` = REPEAT(X'C0', 9 << 20) WHERE `id` = 1")
	digest := func(s string) [2]string {
		var w [2]string
		if err := e.db.QueryRowContext(t.Context(), "SELECT LENGTH("+s+"), MD5("+s+") FROM `big`").Scan(&w[0], &w[1]); err != nil {
			t.Fatal(err)
		}
		return w
	}
	got, _ := changes(t, st, 2)
	sum := func(b []byte) [2]string { return [2]string{strconv.Itoa(len(b)), fmt.Sprintf("%x", md5.Sum(b))} }
	if c := got[0]; c.Op != pipeline.OpCreate || sum([]byte(c.After[2].(string))) != digest("`b`") {
		t.Errorf("insert: %s, b %v", c.Op, sum([]byte(c.After[2].(string))))
	}
	c := got[1]
	if c.Op != pipeline.OpUpdate || sum(c.After[1].([]byte)) != digest("`a`") || sum(c.Before[1].([]byte)) != digest("REPEAT('a', 9 << 20)") {
		t.Errorf("update: %s, a %v before %v", c.Op, sum(c.After[1].([]byte)), sum(c.Before[1].([]byte)))
	}
	if biggest <= 2*mysqlproto.MaxPayload {
		t.Errorf("the largest event has %d bytes: no event spanned three packets", biggest)
	}
}
