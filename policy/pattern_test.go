package policy

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMatchPlain(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything/at:all", true},
		{"a*", "a", true},
		{"a*", "ba", false},
		{"*a", "bba", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXcYYb", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a??", "abc", true},
		{"**", "x", true},
		{"*?*", "", false},
		{"é?", "éx", true},
		{"?", "é", true},
		{"a*a*a*a*a*a*a*a*b", strings.Repeat("a", 60), false},
	}
	for _, tt := range tests {
		p, err := compilePattern(tt.pattern, modePlain, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.match(tt.s); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestMatchARN(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "arn:aws:s3:::b/k", true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b/k/l:m", true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b", false},
		{"arn:aws:s3:::b*", "arn:aws:s3:::b", true},
		{"arn:aws:s3:::b*", "arn:aws:s3:::bc/k", true},
		{"arn:aws:*", "arn:aws:s3:::b/k", true},         // a segment-ending * expands
		{"arn:aws:s*:::b", "arn:aws:s:3:::b", true},     // ends its segment, may cross
		{"arn:aws:s*3:::b", "arn:aws:s:x:3:::b", false}, // mid-segment: stays inside
		{"arn:aws:s3:?::b", "arn:aws:s3::::b", false},   // ? is never a colon
		{"arn:aws:rds:*:*:db:*", "arn:aws:rds:us-east-1:1:db:x", true},
		{"arn:aws:rds:*:*:db:x", "arn:aws:rds:us-east-1:1:cluster:x", false},
		{"arn:aws:s3:::b/?", "arn:aws:s3:::b/:", true},  // resource part: colons are plain
		{"arn:aws:s3:::B/*", "arn:aws:s3:::b/k", false}, // case-sensitive
	}
	for _, tt := range tests {
		p, err := compilePattern(tt.pattern, modeARN, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.match(tt.s); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestMatchAction(t *testing.T) {
	for _, tt := range []struct {
		pattern, action string
		want            bool
	}{
		{"s3:GetObject", "S3:GETOBJECT", true},
		{"S3:get*", "s3:GetObjectVersion", true},
		{"s3:*Object", "s3:PutObject", true},
		{"s3:*Object", "s3:PutObjectAcl", false},
		{"s3:?etObject", "s3:GetObject", true},
		{"*", "kms:Decrypt", true},
		{"s3:*", "kms:Decrypt", false},
	} {
		if got := matchAction(tt.pattern, tt.action); got != tt.want {
			t.Errorf("matchAction(%q, %q) = %v, want %v", tt.pattern, tt.action, got, tt.want)
		}
	}
}

func TestEscapeLiteral(t *testing.T) {
	for _, s := range []string{"plain", "a*b", "?", "$", "${aws:username}", "x*?$y"} {
		p, err := compilePattern(escapeLiteral(s), modePlain, true, nil)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if !p.match(s) || p.text() != s {
			t.Errorf("escapeLiteral(%q) = %q does not match only itself", s, escapeLiteral(s))
		}
		if strings.ContainsAny(s, "*?") && p.match(s+"x") {
			t.Errorf("escaped %q matched more than itself", s)
		}
	}
}

// oracle translates a plain pattern into a regular expression, an
// independent implementation of the same rule.
func oracle(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`\z`)
	return regexp.MustCompile(b.String())
}

func FuzzMatch(f *testing.F) {
	for _, seed := range [][2]string{
		{"*", ""}, {"a*b?c", "aXXbYc"}, {"arn:aws:s3:::b/*", "arn:aws:s3:::b/k"}, {"?*?", "ab"},
		{"**a", "a"}, {"*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaa"}, {"é*", "éé"}, {"a?", "a\n"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(s) {
			return // regexp works on valid UTF-8; policies are JSON text
		}
		p, err := compilePattern(pattern, modePlain, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := p.match(s), oracle(pattern).MatchString(s); got != want {
			t.Fatalf("match(%q, %q) = %v, regexp says %v", pattern, s, got, want)
		}
		// A pattern with no wildcard matches exactly itself.
		if !strings.ContainsAny(pattern, "*?") && p.match(s) != (pattern == s) {
			t.Fatalf("literal %q vs %q", pattern, s)
		}
		// In ARN mode a wildcard can only match less: never more than plain.
		a, _ := compilePattern(pattern, modeARN, false, nil)
		if a.match(s) && !p.match(s) {
			t.Fatalf("ARN match(%q, %q) holds where plain does not", pattern, s)
		}
	})
}
