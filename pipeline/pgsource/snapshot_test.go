package pgsource

import (
	"reflect"
	"testing"

	"github.com/s3bridge/s3bridge/pipeline"
)

// TestSnapshotReadsLikeTheStream reads a table under the slot's exported
// snapshot while rows are added after it: the snapshot has exactly the rows
// before, typed as the stream types them, and its schema has the shape (and
// keys) the stream's Relation message gives, so the stream goes on in the
// same schema version.
func TestSnapshotReadsLikeTheStream(t *testing.T) {
	e := newEnv(t, allTypesDDL, `ALTER TABLE "All Types" ADD COLUMN gone int, ADD COLUMN twice int8 GENERATED ALWAYS AS (id * 2) STORED`,
		`ALTER TABLE "All Types" DROP COLUMN gone`, allTypesInsert, `CREATE TABLE "Other" (a int, b text, PRIMARY KEY (b, a))`)
	slot, err := e.src.Create(t.Context(), Publication{Tables: []Table{{Schema: "public", Name: "All Types"}, {Schema: "public", Name: "Other"}}})
	if err != nil {
		t.Fatal(err)
	}
	sn, err := e.src.OpenSnapshot(t.Context(), slot)
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close(t.Context())
	if err := slot.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.exec(`INSERT INTO "All Types" (id, t) VALUES (3, 'after the snapshot')`)
	e.exec(`UPDATE "All Types" SET t = 'streamed' WHERE id = 1`)

	tables, err := sn.Tables(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := []Table{{Schema: "public", Name: "All Types"}, {Schema: "public", Name: "Other"}}; !reflect.DeepEqual(tables, want) {
		t.Errorf("tables %v, want %v", tables, want)
	}
	ts, err := sn.Schema(t.Context(), tables[0])
	if err != nil {
		t.Fatal(err)
	}
	v1, _ := pipeline.Evolve(nil, ts)
	var rows [][]any
	n, err := sn.Read(t.Context(), &v1, func(c *pipeline.Change) error {
		if c.Op != pipeline.OpRead || !c.Source.Snapshot || c.Source.LSN != slot.ConsistentPoint || c.Schema != &v1 {
			t.Errorf("snapshot change %s source %+v", summary(*c), c.Source)
		}
		rows = append(rows, norm(c.After))
		return nil
	})
	if err != nil || n != 2 {
		t.Fatalf("Read = %d, %v", n, err)
	}
	if len(rows) != 2 || !reflect.DeepEqual(rows[0], allTypesRow1()) || !reflect.DeepEqual(rows[1], allTypesRow2()) {
		t.Errorf("rows:\n%v\n%v\nwant\n%v\n%v", rows[0], rows[1], allTypesRow1(), allTypesRow2())
	}
	other, err := sn.Schema(t.Context(), tables[1])
	if err != nil {
		t.Fatal(err)
	}
	if k := []bool{other.Columns[0].Key, other.Columns[1].Key}; !k[0] || !k[1] {
		t.Errorf("composite key columns: %v", k)
	}

	st := e.stream(StreamOptions{Start: slot.ConsistentPoint, Known: []pipeline.TableSchema{v1}})
	tx, _ := readTx(t, st)
	if len(tx.Changes) != 1 || tx.Changes[0].After[0] != int64(3) {
		t.Fatalf("first streamed transaction: %+v", tx.Changes)
	}
	got := tx.Changes[0].Schema
	if !got.SameShape(&v1) || got.Version != 1 {
		t.Errorf("stream schema v%d differs from the snapshot's: %s", got.Version, v1.Diff(got))
	}
	for i := range got.Columns {
		if got.Columns[i].Key != v1.Columns[i].Key {
			t.Errorf("column %s: stream key %t, snapshot key %t", got.Columns[i].Name, got.Columns[i].Key, v1.Columns[i].Key)
		}
	}
}
