package pipeline

import "testing"

func col(name string, k Kind, typeName string) Column {
	return Column{Name: name, Type: Type{Kind: k, Name: typeName}, Nullable: true}
}

func base() TableSchema {
	return TableSchema{Database: "d", Schema: "s", Table: "t", Columns: []Column{
		{Name: "id", Type: Type{Kind: KindInt64, Name: "int8"}, Key: true, Nullable: true},
		col("a", KindString, "text"),
		{Name: "n", Type: Type{Kind: KindDecimal, Precision: 10, Scale: 2, Name: "numeric(10,2)"}, Nullable: true},
		{Name: "xs", Type: Type{Kind: KindArray, Name: "_int4", Elem: &Type{Kind: KindInt32, Name: "int4"}}, Nullable: true},
	}}
}

func TestEvolve(t *testing.T) {
	v1 := base()
	v1.Version = 1
	tests := []struct {
		name     string
		prev     *TableSchema
		change   func(*TableSchema)
		wantVer  int
		wantNew  bool
		wantDiff string
	}{
		{"first", nil, func(*TableSchema) {}, 1, true, ""},
		{"same", &v1, func(*TableSchema) {}, 1, false, ""},
		{"key change only", &v1, func(s *TableSchema) { s.Columns[1].Key = true }, 1, false, ""},
		{"add column", &v1, func(s *TableSchema) { s.Columns = append(s.Columns, col("b", KindInt32, "int4")) }, 2, true, "add b"},
		{"drop column", &v1, func(s *TableSchema) { s.Columns = s.Columns[:1] }, 2, true, "drop a; drop n; drop xs"},
		{"retype kind", &v1, func(s *TableSchema) { s.Columns[1].Type = Type{Kind: KindInt32, Name: "int4"} }, 2, true, "retype a text -> int4"},
		{"retype same kind", &v1, func(s *TableSchema) { s.Columns[1].Type.Name = "varchar" }, 2, true, "retype a text -> varchar"},
		{"precision", &v1, func(s *TableSchema) { s.Columns[2].Type.Precision = 12 }, 2, true, "retype n numeric(10,2) -> numeric(10,2)"},
		{"array elem", &v1, func(s *TableSchema) { s.Columns[3].Type.Elem = &Type{Kind: KindInt64, Name: "int8"} }, 2, true, "retype xs _int4 -> _int4"},
		{"nullability", &v1, func(s *TableSchema) { s.Columns[1].Nullable = false }, 2, true, "nullability a true -> false"},
		{"rename", &v1, func(s *TableSchema) { s.Columns[1].Name = "b" }, 2, true, "drop a; add b"},
		{"reorder", &v1, func(s *TableSchema) { s.Columns[1], s.Columns[2] = s.Columns[2], s.Columns[1] }, 2, true, "reorder columns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := base()
			cur.Columns = append([]Column(nil), cur.Columns...)
			tt.change(&cur)
			got, isNew := Evolve(tt.prev, cur)
			if got.Version != tt.wantVer || isNew != tt.wantNew {
				t.Errorf("Evolve = v%d new=%t, want v%d new=%t", got.Version, isNew, tt.wantVer, tt.wantNew)
			}
			if tt.prev != nil {
				if d := tt.prev.Diff(&cur); d != tt.wantDiff {
					t.Errorf("Diff = %q, want %q", d, tt.wantDiff)
				}
			}
		})
	}
	if v1.Version != 1 || len(v1.Columns) != 4 {
		t.Fatalf("Evolve changed prev: %+v", v1)
	}
}

func TestLSN(t *testing.T) {
	tests := []struct {
		in      string
		want    LSN
		wantHex string
	}{
		{"0/0", 0, "0000000000000000"},
		{"16/B374D848", 0x16B374D848, "00000016B374D848"},
		{"FFFFFFFF/FFFFFFFF", ^LSN(0), "FFFFFFFFFFFFFFFF"},
	}
	for _, tt := range tests {
		got, err := ParseLSN(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseLSN(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if got.String() != tt.in || got.Hex() != tt.wantHex {
			t.Errorf("%v: String %q Hex %q", tt.want, got.String(), got.Hex())
		}
	}
	for _, bad := range []string{"", "1", "/1", "1/", "x/1", "1/2/3", "100000000/0"} {
		if _, err := ParseLSN(bad); err == nil {
			t.Errorf("ParseLSN(%q) succeeded", bad)
		}
	}
}

func TestOp(t *testing.T) {
	for _, o := range []Op{OpRead, OpCreate, OpUpdate, OpDelete, OpTruncate} {
		if !o.Valid() || len(o.String()) != 1 {
			t.Errorf("op %q invalid", o)
		}
	}
	if Op('x').Valid() {
		t.Error("op x valid")
	}
}

func TestTimeInfinity(t *testing.T) {
	if TimeInfinity.UnixMicro() != 1<<63-1 || TimeNegInfinity.UnixMicro() != -1<<63 {
		t.Fatalf("infinity sentinels don't round-trip: %v %v", TimeInfinity, TimeNegInfinity)
	}
}

// TestVersionsFind: a snapshot's shape that the stream has gone past gets
// the version the stream gave it, not a new one; an unknown shape a new
// one; Evolve (the stream's) always numbers against the latest.
func TestVersionsFind(t *testing.T) {
	col := func(names ...string) TableSchema {
		s := TableSchema{Database: "d", Schema: "s", Table: "t"}
		for _, n := range names {
			s.Columns = append(s.Columns, Column{Name: n, Type: Type{Kind: KindInt32, Name: "integer"}, Nullable: true})
		}
		return s
	}
	v := NewVersions(nil)
	a, _ := v.Evolve(col("a"))
	b, _ := v.Evolve(col("a", "b"))
	if a.Version != 1 || b.Version != 2 {
		t.Fatalf("versions %d, %d", a.Version, b.Version)
	}
	if got, isNew := v.Find(col("a")); isNew || got.Version != 1 {
		t.Errorf("Find of an earlier shape: v%d, new %t", got.Version, isNew)
	}
	if got, isNew := v.Find(col("a", "b", "c")); !isNew || got.Version != 3 {
		t.Errorf("Find of a new shape: v%d, new %t", got.Version, isNew)
	}
	// The stream going back to the first shape is a new version.
	if got, isNew := v.Evolve(col("a")); !isNew || got.Version != 4 {
		t.Errorf("Evolve back to an earlier shape: v%d, new %t", got.Version, isNew)
	}
}
