package pgsource

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/pipeline"
)

const allTypesDDL = `
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TABLE "All Types" (
  id int8 PRIMARY KEY, s2 int2, i4 int4, price numeric(10,2), num numeric, f4 float4, f8 float8,
  ok bool, t text, vc varchar(10), ch char(3), raw bytea, day date, tod time, ts timestamp,
  tstz timestamptz, u uuid, j json, jb jsonb, m mood, addr inet, ints int4[], tags text[],
  prices numeric(5,1)[], moods mood[], p posint, grid int4[][])`

// The expected values of row 1 of allTypesInsert, as the domain types them.
func allTypesRow1() []any {
	return []any{int64(1), int32(-32768), int32(2147483647), "rat:-617/50", "NaN", float32(1.5), math.Inf(-1),
		true, "Grüße 日本 🎉", "short", "ab ", []byte{0, 1, 0xff},
		"time:1969-07-20T00:00:00Z", 13*time.Hour + 14*time.Minute + 15*time.Second + 123456*time.Microsecond,
		"time:1900-01-01T00:00:00.000001Z", "time:1969-07-20T20:17:40.999999Z",
		"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", `{"a": [1, 2]}`, `{"a": [1, 2], "ü": null}`, "happy", "192.168.0.1",
		[]any{int32(1), nil, int32(-3)}, []any{"x,y", `q"uote`, nil, "NULL"}, []any{"rat:-1/2", nil},
		[]any{"sad", "happy"}, int32(7), []any{[]any{int32(1), int32(2)}, []any{int32(3), int32(4)}}}
}

const allTypesInsert = `INSERT INTO "All Types" VALUES
 (1, -32768, 2147483647, -12.34, 'NaN', 1.5, '-Infinity', true, 'Grüße 日本 🎉', 'short', 'ab', '\x0001ff',
  '1969-07-20', '13:14:15.123456', '1900-01-01 00:00:00.000001', '1969-07-20 22:17:40.999999+02',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2]}', '{"ü": null, "a": [1, 2]}', 'happy', '192.168.0.1',
  '{1,NULL,-3}', ARRAY['x,y', 'q"uote', NULL, 'NULL'], '{-0.5,NULL}', '{sad,happy}', 7, '{{1,2},{3,4}}'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'infinity', NULL, '-infinity', 'infinity',
  NULL, NULL, NULL, NULL, NULL, '{}', NULL, NULL, NULL, NULL, NULL)`

func allTypesRow2() []any {
	r := make([]any, 27)
	r[0] = int64(2)
	r[12] = "time:" + pipeline.TimeInfinity.Format(time.RFC3339Nano)
	r[14] = "time:" + pipeline.TimeNegInfinity.Format(time.RFC3339Nano)
	r[15] = "time:" + pipeline.TimeInfinity.Format(time.RFC3339Nano)
	r[21] = []any{}
	return r
}

// TestStreamDecodesEveryOp runs inserts, updates, deletes, truncates and
// messages in several transactions, plus an aborted one, and checks that
// exactly the committed ones arrive, in order, with typed values.
func TestStreamDecodesEveryOp(t *testing.T) {
	e := newEnv(t, allTypesDDL, `CREATE TABLE other (k text PRIMARY KEY, v int)`)
	slot := e.create(Publication{Tables: []Table{{Schema: "public", Name: "All Types"}, {Schema: "public", Name: "other"}}})
	e.exec(allTypesInsert)
	e.exec(`BEGIN; UPDATE "All Types" SET t = 'changed', f8 = 2.5 WHERE id = 1; DELETE FROM "All Types" WHERE id = 2; INSERT INTO other VALUES ('a', 1); COMMIT`)
	e.exec(`BEGIN; INSERT INTO other VALUES ('aborted', 0); ROLLBACK`)
	e.exec(`TRUNCATE "All Types", other`)
	e.exec(`SELECT pg_logical_emit_message(false, 'loose', 'outside')`)
	e.exec(`BEGIN; INSERT INTO other VALUES ('b', 2); SELECT pg_logical_emit_message(true, 'pfx', 'inside'); UPDATE other SET v = 3 WHERE k = 'b'; COMMIT`)

	var versions []int
	st := e.stream(StreamOptions{Start: slot.ConsistentPoint, OnSchema: func(s *pipeline.TableSchema) { versions = append(versions, s.Version) }})
	schema := map[int]*pipeline.TableSchema{}

	tx1, _ := readTx(t, st)
	if len(tx1.Changes) != 2 {
		t.Fatalf("tx1 has %d changes", len(tx1.Changes))
	}
	ts := tx1.Changes[0].Schema
	schema[1] = ts
	wantCols := []struct {
		name string
		typ  string
	}{{"id", "int64"}, {"s2", "int32"}, {"i4", "int32"}, {"price", "decimal(10,2)"}, {"num", "numeric"}, {"f4", "float32"},
		{"f8", "float64"}, {"ok", "bool"}, {"t", "string"}, {"vc", "string"}, {"ch", "string"}, {"raw", "bytes"},
		{"day", "date"}, {"tod", "time"}, {"ts", "timestamp"}, {"tstz", "timestamptz"}, {"u", "uuid"}, {"j", "json"},
		{"jb", "json"}, {"m", "enum"}, {"addr", "text"}, {"ints", "array<int32>"}, {"tags", "array<string>"},
		{"prices", "array<decimal(5,1)>"}, {"moods", "array<enum>"}, {"p", "int32"}, {"grid", "array<array<int32>>"}}
	if len(ts.Columns) != len(wantCols) || ts.Table != "All Types" || ts.Schema != "public" || ts.Database != e.src.Database() {
		t.Fatalf("schema %+v", ts)
	}
	for i, w := range wantCols {
		if c := ts.Columns[i]; c.Name != w.name || c.Type.String() != w.typ || c.Key != (i == 0) {
			t.Errorf("column %d = %s %s key=%t, want %s %s", i, c.Name, c.Type, c.Key, w.name, w.typ)
		}
	}
	if n := ts.Columns[19].Type.Name; n != "public.mood" {
		t.Errorf("enum type name %q", n)
	}
	for i, want := range [][]any{allTypesRow1(), allTypesRow2()} {
		c := tx1.Changes[i]
		if c.Op != pipeline.OpCreate || c.Before != nil || c.Source.TxID != tx1.ID || c.Source.LSN != tx1.CommitLSN {
			t.Errorf("insert %d: %s", i, summary(c))
		}
		if got := norm(c.After); !reflect.DeepEqual(got, want) {
			for j := range want {
				if !reflect.DeepEqual(got[j], want[j]) {
					t.Errorf("insert %d column %s = %#v, want %#v", i, ts.Columns[j].Name, got[j], want[j])
				}
			}
		}
	}

	tx2, _ := readTx(t, st)
	if tx2.CommitLSN <= tx1.CommitLSN || tx2.BeginLSN < tx1.EndLSN || !(tx1.EndLSN > tx1.CommitLSN) {
		t.Errorf("LSNs: tx1 %s..%s..%s tx2 %s..%s", tx1.BeginLSN, tx1.CommitLSN, tx1.EndLSN, tx2.BeginLSN, tx2.CommitLSN)
	}
	if tx2.CommitTime.IsZero() || time.Since(tx2.CommitTime) > time.Minute {
		t.Errorf("commit time %v", tx2.CommitTime)
	}
	upd := allTypesRow1()
	upd[8], upd[6] = "changed", 2.5
	key2 := make([]any, 27)
	key2[0] = int64(2)
	want2 := []struct {
		op            pipeline.Op
		before, after []any
	}{
		{pipeline.OpUpdate, nil, upd},
		{pipeline.OpDelete, key2, nil},
		{pipeline.OpCreate, nil, []any{"a", int32(1)}},
	}
	if len(tx2.Changes) != len(want2) {
		t.Fatalf("tx2 has %d changes", len(tx2.Changes))
	}
	for i, w := range want2 {
		c := tx2.Changes[i]
		if c.Op != w.op || !reflect.DeepEqual(norm(c.Before), w.before) || !reflect.DeepEqual(norm(c.After), w.after) {
			t.Errorf("tx2 change %d: %s", i, summary(c))
		}
	}

	// The aborted transaction yields nothing: next is the truncate.
	tx3, loose := readTx(t, st)
	if len(loose) != 0 || len(tx3.Changes) != 2 {
		t.Fatalf("tx3: %d changes, loose %v", len(tx3.Changes), loose)
	}
	for i, table := range []string{"All Types", "other"} {
		c := tx3.Changes[i]
		if c.Op != pipeline.OpTruncate || c.Source.Table != table || c.Before != nil || c.After != nil {
			t.Errorf("truncate %d: %s", i, summary(c))
		}
	}

	tx4, loose := readTx(t, st)
	if len(loose) != 1 || loose[0].Prefix != "loose" || string(loose[0].Content) != "outside" || loose[0].Transactional {
		t.Errorf("loose messages %+v", loose)
	}
	if len(tx4.Messages) != 1 || tx4.Messages[0].Prefix != "pfx" || !bytes.Equal(tx4.Messages[0].Content, []byte("inside")) {
		t.Errorf("tx messages %+v", tx4.Messages)
	}
	if len(tx4.Changes) != 2 || summary(tx4.Changes[0]) != "c public.other v1 before=[] after=[b 2] toast=[]" ||
		summary(tx4.Changes[1]) != "u public.other v1 before=[] after=[b 3] toast=[]" {
		for _, c := range tx4.Changes {
			t.Errorf("tx4: %s", summary(c))
		}
	}
	// One version per table, announced once each though pgoutput re-sends
	// relations.
	if !reflect.DeepEqual(versions, []int{1, 1}) {
		t.Errorf("schema versions announced %v", versions)
	}
}

// TestUnchangedTOAST updates a row without touching its big TOASTed value:
// the value is reported unchanged, never as NULL; with REPLICA IDENTITY
// FULL it is filled from the old row.
func TestUnchangedTOAST(t *testing.T) {
	e := newEnv(t, `CREATE TABLE doc (id int PRIMARY KEY, body text, n int)`)
	slot := e.create(Publication{Tables: []Table{{Schema: "public", Name: "doc"}}})
	// Random hex doesn't compress below the TOAST threshold.
	raw := make([]byte, 50_000)
	rand.Read(raw)
	body := hex.EncodeToString(raw)
	e.exec(`INSERT INTO doc VALUES (1, $1, 0)`, body)
	e.exec(`UPDATE doc SET n = 1 WHERE id = 1`)
	e.exec(`ALTER TABLE doc REPLICA IDENTITY FULL`)
	e.exec(`UPDATE doc SET n = 2 WHERE id = 1`)
	e.exec(`UPDATE doc SET body = NULL, n = 3 WHERE id = 1`)

	st := e.stream(StreamOptions{Start: slot.ConsistentPoint})
	ins, _ := readTx(t, st)
	if got := ins.Changes[0].After[1]; got != body {
		t.Fatalf("inserted body has %d chars", len(got.(string)))
	}
	tx, _ := readTx(t, st)
	c := tx.Changes[0]
	if !reflect.DeepEqual(c.UnchangedToast, []string{"body"}) || c.After[1] != nil || c.After[2] != int32(1) {
		t.Errorf("default identity update: %s", summary(c))
	}
	tx, _ = readTx(t, st)
	c = tx.Changes[0]
	if len(c.UnchangedToast) != 0 || c.After[1] != body || c.Before[1] != body || c.After[2] != int32(2) {
		t.Errorf("full identity update: toast %v, after body %d chars", c.UnchangedToast, len(c.After[1].(string)))
	}
	tx, _ = readTx(t, st)
	c = tx.Changes[0]
	if len(c.UnchangedToast) != 0 || c.After[1] != nil || c.Before[1] != body {
		t.Errorf("set NULL: toast %v after %v", c.UnchangedToast, c.After[1])
	}
}

// TestAlterTableNewVersion adds and retypes columns mid-stream: each gives a
// new schema version, and a restarted stream that knows the versions goes
// on counting from them.
func TestAlterTableNewVersion(t *testing.T) {
	e := newEnv(t, `CREATE TABLE t (id int PRIMARY KEY, a text)`)
	slot := e.create(Publication{Tables: []Table{{Schema: "public", Name: "t"}}})
	e.exec(`INSERT INTO t VALUES (1, 'x')`)
	e.exec(`ALTER TABLE t ADD COLUMN b numeric(8,3)`)
	e.exec(`INSERT INTO t VALUES (2, 'y', 1.5)`)
	e.exec(`ALTER TABLE t ALTER COLUMN b TYPE bigint`)
	e.exec(`INSERT INTO t VALUES (3, 'z', 4)`)
	e.exec(`ALTER TABLE t DROP COLUMN a`)
	e.exec(`INSERT INTO t VALUES (4, 5)`)

	var announced []*pipeline.TableSchema
	st := e.stream(StreamOptions{Start: slot.ConsistentPoint, OnSchema: func(s *pipeline.TableSchema) { announced = append(announced, s) }})
	want := []string{
		"c public.t v1 before=[] after=[1 x] toast=[]",
		"c public.t v2 before=[] after=[2 y rat:3/2] toast=[]",
		"c public.t v3 before=[] after=[3 z 4] toast=[]",
		"c public.t v4 before=[] after=[4 5] toast=[]",
	}
	var txs []*pipeline.Tx
	for i, w := range want {
		tx, _ := readTx(t, st)
		txs = append(txs, tx)
		if got := summary(tx.Changes[0]); got != w {
			t.Errorf("insert %d: %s, want %s", i, got, w)
		}
	}
	if len(announced) != 4 {
		t.Fatalf("%d versions announced", len(announced))
	}
	if d := announced[0].Diff(announced[1]); d != "add b" {
		t.Errorf("v1->v2 %q", d)
	}
	if d := announced[1].Diff(announced[2]); d != "retype b numeric(8,3) -> int8" {
		t.Errorf("v2->v3 %q", d)
	}
	st.Confirm(txs[2].EndLSN)
	if err := st.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Restart after v3's insert, knowing v3: the relation pgoutput re-sends
	// for it is not a new version; the drop still is v4.
	st2 := e.stream(StreamOptions{Start: txs[2].EndLSN, Known: []pipeline.TableSchema{*announced[2]}})
	tx, _ := readTx(t, st2)
	if got := summary(tx.Changes[0]); got != want[3] {
		t.Errorf("after restart: %s", got)
	}
}
