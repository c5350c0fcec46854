package pgsource

import (
	"context"
	"reflect"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestResolveTypes asks a real catalog for the types coltype decides
// from: declared dimensions, domains (of arrays' elements too, with their
// typmod), enums, oid, and an element delimiter other than a comma, with
// which the value decoder then splits a box[] value.
func TestResolveTypes(t *testing.T) {
	e := newEnv(t, `CREATE TYPE mood AS ENUM ('sad', 'happy')`, `CREATE DOMAIN price AS numeric(10,2)`,
		`CREATE DOMAIN dear AS price CHECK (VALUE > 100)`,
		`CREATE TABLE tt (grid int[][], cube text[][][], o oid, dears dear[], moods mood[], boxes box[], n numeric(5,-2), iv interval)`)
	conn, err := pgconn.Connect(t.Context(), e.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	r := newTypeResolver(func(context.Context) (*pgconn.PgConn, error) { return conn, nil })
	res, err := conn.Exec(t.Context(), `SELECT oid FROM pg_class WHERE relname = 'tt'`).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	relid, _ := strconv.ParseUint(string(res[0].Rows[0][0]), 10, 32)
	dims, err := r.dims(t.Context(), uint32(relid))
	if err != nil {
		t.Fatal(err)
	}
	res, err = conn.Exec(t.Context(), `SELECT attname, atttypid, atttypmod FROM pg_attribute
		WHERE attrelid = 'tt'::regclass AND attnum > 0 ORDER BY attnum`).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"grid": "array<array<int32>>", "cube": "array<array<array<string>>>", "o": "int64",
		"dears": "array<decimal(10,2)>", "moods": "array<enum>", "boxes": "array<text>", "n": "numeric", "iv": "text",
	}
	types := map[string]string{}
	for _, row := range res[0].Rows {
		oid, _ := strconv.ParseUint(string(row[1]), 10, 32)
		typmod, _ := strconv.ParseInt(string(row[2]), 10, 32)
		typ, err := r.resolve(t.Context(), uint32(oid), int32(typmod), dims[string(row[0])])
		if err != nil {
			t.Fatalf("resolve %s: %v", row[0], err)
		}
		types[string(row[0])] = typ.String()
		if string(row[0]) == "dears" && (typ.Name != "public._dear" || typ.Elem.Name != "public.dear") {
			t.Errorf("dears named %s of %s", typ.Name, typ.Elem.Name)
		}
		if string(row[0]) == "boxes" {
			v, err := newValueDecoder(r.delims).decode(typ, []byte(`{(1,2),(0,0);NULL}`))
			if err != nil || !reflect.DeepEqual(v, []any{"(1,2),(0,0)", nil}) {
				t.Errorf("a box[] value: %#v, %v", v, err)
			}
		}
	}
	if !reflect.DeepEqual(types, want) {
		t.Errorf("types\n%v\nwant\n%v", types, want)
	}
}
