package coltype

import (
	"errors"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/tuple"
)

// show prints a parsed value: lists in brackets, NULL, text quoted.
func showValue(v tuple.Value) string {
	switch v.Kind {
	case tuple.Null:
		return "NULL"
	case tuple.List:
		parts := make([]string, len(v.List))
		for i, e := range v.List {
			parts[i] = showValue(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return "'" + string(v.Bytes) + "'"
}

// TestArrayParser parses array_out's text form; a value with other
// dimensions than the parser's fails with a DimsError.
func TestArrayParser(t *testing.T) {
	for _, tt := range []struct {
		depth int
		delim byte
		in    string
		dims  int    // TextDims
		want  string // "" for an error
		got   int    // the DimsError's Got, for a dimensions error
	}{
		{1, ',', `{}`, 1, `[]`, 0},
		{2, ',', `{}`, 1, `[]`, 0},
		{1, ',', `{1.5,NULL,-2}`, 1, `['1.5' NULL '-2']`, 0},
		{1, ',', `{x,"y z","","NULL",null,"a\"b\\c"}`, 1, `['x' 'y z' '' 'NULL' NULL 'a"b\c']`, 0},
		{1, ',', `{"{1}"}`, 1, `['{1}']`, 0},
		{2, ',', `{{1,2},{3,NULL}}`, 2, `[['1' '2'] ['3' NULL]]`, 0},
		{2, ',', `[0:1][1:1]={{a},{b}}`, 2, `[['a'] ['b']]`, 0},
		{3, ',', `{{{1},{2}},{{3},{4}}}`, 3, `[[['1'] ['2']] [['3'] ['4']]]`, 0},
		{1, ';', `{(1,2),(0,0);(3,3),(1,1)}`, 1, `['(1,2),(0,0)' '(3,3),(1,1)']`, 0},
		{1, ',', `{{1,2}}`, 2, "", 2},
		{2, ',', `{1,2}`, 1, "", 1},
		{1, ',', `{1,2`, 1, "", 0},
		{1, ',', `{"a}`, 1, "", 0},
		{1, ',', `{1,,2}`, 1, "", 0},
		{1, ',', `{1}x`, 1, "", 0},
		{1, ',', `1,2`, 0, "", 0},
	} {
		if got := TextDims([]byte(tt.in)); got != tt.dims {
			t.Errorf("TextDims(%s) = %d, want %d", tt.in, got, tt.dims)
		}
		p := ArrayParser{Depth: tt.depth, Delim: tt.delim}
		v, err := p.Parse([]byte(tt.in))
		var de *DimsError
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("%s: %s, want an error", tt.in, showValue(v))
		case tt.want != "" && err != nil:
			t.Errorf("%s: %v", tt.in, err)
		case tt.want != "" && showValue(v) != tt.want:
			t.Errorf("%s: %s, want %s", tt.in, showValue(v), tt.want)
		case tt.got != 0 && (!errors.As(err, &de) || de.Got != tt.got || de.Want != tt.depth):
			t.Errorf("%s: %v, want a DimsError{%d, %d}", tt.in, err, tt.got, tt.depth)
		}
	}
}

// TestArrayParserReuse: one parser parses value after value, each one
// whole: its buffers are reused, never left holding the previous value.
func TestArrayParserReuse(t *testing.T) {
	p := ArrayParser{Depth: 2, Delim: ','}
	for _, tt := range []struct{ in, want string }{
		{`{{a,"b"},{c,d}}`, `[['a' 'b'] ['c' 'd']]`},
		{`{{"x y"}}`, `[['x y']]`},
		{`{}`, `[]`},
		{`{{1,2,3},{4,5,6}}`, `[['1' '2' '3'] ['4' '5' '6']]`},
	} {
		v, err := p.Parse([]byte(tt.in))
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if got := showValue(v); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.in, got, tt.want)
		}
	}
}

// FuzzArrayParser: any input parses or fails without a panic, and what
// parses at TextDims's depth has exactly that many levels of lists.
func FuzzArrayParser(f *testing.F) {
	for _, s := range []string{`{}`, `{1,NULL}`, `{{1,2},{3,4}}`, `[1:2]={a,"b\"c"}`, `{{{x}}}`, `{"{",}`, `{(1,2);(3,4)}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := TextDims([]byte(s))
		p := ArrayParser{Depth: n, Delim: ','}
		v, err := p.Parse([]byte(s))
		if err != nil {
			return
		}
		var depth func(v tuple.Value, level int)
		depth = func(v tuple.Value, level int) {
			if v.Kind != tuple.List {
				t.Fatalf("%q: %s at level %d is not a list", s, showValue(v), level)
			}
			for _, e := range v.List {
				if level+1 < n {
					depth(e, level+1)
				} else if e.Kind == tuple.List {
					t.Fatalf("%q: a list below %d levels", s, n)
				}
			}
		}
		depth(v, 0)
	})
}
