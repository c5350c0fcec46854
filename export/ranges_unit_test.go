package export

import "testing"

func TestWholeTable(t *testing.T) {
	tests := []struct {
		query string
		want  string // "" when not a whole table
	}{
		{"SELECT * FROM t", "t"},
		{"  select *\n from public.sales ; ", "public.sales"},
		{`SELECT * FROM "My ""T"""`, `"My ""T"""`},
		{`SELECT * FROM "s"."t$1"`, `"s"."t$1"`},
		{"SELECT * FROM t WHERE id > 1", ""},
		{"SELECT * FROM t, u", ""},
		{"SELECT * FROM t JOIN u USING (id)", ""},
		{"SELECT * FROM ONLY t", ""},
		{"SELECT * FROM t -- c", ""},
		{"SELECT * FROM t LIMIT 5", ""},
		{"SELECT * FROM t ORDER BY id", ""},
		{"SELECT id FROM t", ""},
		{"SELECT * FROM f()", ""},
		{"SELECT * FROM a.b.c", ""},
		{"SELECT * FROM lateral", ""},
		{"WITH t AS (SELECT 1) SELECT * FROM t", ""},
		{`SELECT * FROM "t"; DROP TABLE x`, ""},
		{`SELECT * FROM "a"" ; x"`, `"a"" ; x"`},
	}
	for _, tt := range tests {
		got, ok := wholeTable(tt.query)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("wholeTable(%q) = %q, %t; want %q", tt.query, got, ok, tt.want)
		}
	}
}
