package connector

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestFilters(t *testing.T) {
	full := base + "  auth_method: anonymous\n  parser:\n    type: csv\n    columns:\n    - {name: id, type: long}\n    - {name: name, type: string}\n    - {name: n, type: long}\n"
	tests := []struct {
		name, filters string
		// want is the columns (name:type) and the filtered row of
		// id=1, name="ann", n=NULL from object k/a.csv; or the error.
		want, wantRow, wantErr string
	}{
		{"none", "", "id:long name:string n:long", "1 ann <nil>", ""},
		{"add_filename", "- type: add_filename\n", "id:long name:string n:long filename:string", "1 ann <nil> a.csv", ""},
		{"add_filename named", "- {type: add_filename, column_name: src}\n", "id:long name:string n:long src:string", "1 ann <nil> a.csv", ""},
		{"add_filename full key", "- {type: add_filename, full_key: true}\n", "id:long name:string n:long filename:string", "1 ann <nil> k/a.csv", ""},
		{"add_filename with columns", "- {type: add_filename, columns: [{name: id}]}\n", "", "", `unknown key "columns"`},
		{"retain and reorder", "- type: column\n  columns: [{name: name}, {name: id}]\n", "name:string id:long", "ann 1", ""},
		{"retain with default", "- type: column\n  columns: [{name: id}, {name: n, default: '7'}, {name: tag, type: string, default: x}]\n",
			"id:long n:long tag:string", "1 7 x", ""},
		{"drop", "- type: column\n  drop_columns: [{name: name}]\n", "id:long n:long", "1 <nil>", ""},
		{"add", "- type: column\n  add_columns: [{name: at, type: timestamp, format: '%Y-%m-%d', default: '2024-01-02'}, {name: z, type: double}]\n",
			"id:long name:string n:long at:timestamp z:double", "1 ann <nil> 2024-01-02 00:00:00 +0000 UTC <nil>", ""},
		{"in order", "- type: add_filename\n- type: column\n  columns: [{name: filename}]\n", "filename:string", "a.csv", ""},
		{"unknown type", "- type: nope\n", "", "", `type "nope"`},
		{"unknown key", "- type: column\n  bogus: 1\n", "", "", `filters[0]: unknown key "bogus"`},
		{"another type's key", "- type: column\n  json_column_name: x\n", "", "", `unknown key "json_column_name"`},
		{"another type's column key", "- type: column\n  columns: [{name: id, algorithm: sha256}]\n", "", "", `unknown key "algorithm"`},
		{"missing column", "- type: column\n  columns: [{name: nope}]\n", "", "", `"nope" is not a column`},
		{"both lists", "- type: column\n  columns: [{name: id}]\n  drop_columns: [{name: n}]\n", "", "", "give one of them"},
		{"drop missing", "- type: column\n  drop_columns: [{name: nope}]\n", "", "", `"nope" is not a column`},
		{"add existing", "- type: column\n  add_columns: [{name: id, type: long}]\n", "", "", `"id" exists already`},
		{"add without type", "- type: column\n  add_columns: [{name: x}]\n", "", "", `"x" needs a type`},
		{"bad default", "- type: column\n  add_columns: [{name: x, type: long, default: abc}]\n", "", "", `"abc" is not a long`},
		{"type change", "- type: column\n  columns: [{name: id, type: string}]\n", "", "", "does not convert"},
		{"filename twice", "- type: add_filename\n- type: add_filename\n", "", "", `"filename" exists already`},
		{"nothing left", "- type: column\n  drop_columns: [{name: id}, {name: name}, {name: n}]\n", "", "", "no column is left"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := full
			if tt.filters != "" {
				text += "filters:\n" + tt.filters
			}
			c, err := Parse([]byte(text))
			if err == nil {
				err = c.Validate()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cols, err := c.Columns()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, col := range cols {
				got = append(got, col.Name+":"+col.Type)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("columns %q, want %q", g, tt.want)
			}
			l, err := c.filteredFor(FilterRun{})
			if err != nil {
				t.Fatal(err)
			}
			out := make([]any, len(l))
			if err := l.row(out, []any{number("1"), "ann", nil}, &rowContext{key: "k/a.csv"}); err != nil {
				t.Fatal(err)
			}
			var vals []string
			for _, v := range out {
				if tm, ok := v.(time.Time); ok {
					v = tm.String()
				}
				vals = append(vals, fmt.Sprint(v))
			}
			if g := strings.Join(vals, " "); g != tt.wantRow {
				t.Errorf("row %q, want %q", g, tt.wantRow)
			}
		})
	}
}
