package statement

import (
	"errors"
	"testing"
)

func TestCheckSetExpr(t *testing.T) {
	tests := []struct {
		expr string
		ok   bool
	}{
		{"@a", true},
		{"UPPER(@name)", true},
		{"CONCAT(@first, ' ', @last)", true},
		{"STR_TO_DATE(@d, '%Y-%m-%d')", true},
		{"IF(@x = '', NULL, @x * 1.5)", true},
		{"CASE WHEN @x > 0 THEN 'pos' ELSE 'neg' END", true},
		{"CAST(@x AS DECIMAL(10,2))", true},
		{"DATE_ADD(NOW(), INTERVAL 1 DAY)", true},
		{"price * .5 + 1.5e3", true},
		{"`quoted col` + 1", true},
		{"(SELECT name FROM s3bridge.settings LIMIT 1)", false},
		{"(select secret from other.t)", false},
		{"LOAD_FILE('/etc/passwd')", false},
		{"load_file ('/etc/passwd')", false},
		{"SLEEP(10)", false},
		{"BENCHMARK(1000000, MD5('x'))", false},
		{"mydb.myfunc(@x)", false},
		{"`myfunc`(@x)", false},
		{"myfunc(@x)", false},
		{"@@datadir", false},
		{"1 /*! , name = (SELECT 1) */", false},
		{"1 -- tail", false},
		{"1 # tail", false},
		{"NEXT VALUE FOR seq", false},
		{"NEXTVAL(seq)", false},
		{"other.t.col", false},
		{"EXISTS (SELECT 1)", false},
		{"CURRENT_USER()", false},
		{"1; DROP TABLE t", false},
	}
	for _, tc := range tests {
		err := CheckSetExpr(tc.expr)
		if tc.ok && err != nil {
			t.Errorf("CheckSetExpr(%q): got %v, want allowed", tc.expr, err)
		}
		// Executable comments are already a syntax error of the lexer.
		if !tc.ok && !errors.Is(err, ErrUnsafeExpr) && !errors.As(err, new(*SyntaxError)) {
			t.Errorf("CheckSetExpr(%q): got %v, want ErrUnsafeExpr or a syntax error", tc.expr, err)
		}
	}
}

func FuzzCheckSetExpr(f *testing.F) {
	for _, s := range []string{"UPPER(@a)", "(SELECT 1)", "1 /*! x */", "a.b", "@@x", "'str' || @y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		if CheckSetExpr(expr) != nil {
			return
		}
		// Whatever passes must hold no subquery keyword and no comment.
		toks, err := lex(expr)
		if err != nil {
			t.Fatalf("passed but does not lex: %v", err)
		}
		for _, tk := range toks {
			if tk.kind == tokWord && setForbidden[upper(tk.val)] {
				t.Fatalf("passed with %q", tk.val)
			}
		}
	})
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}
