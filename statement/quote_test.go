package statement

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"mysql ident plain", QuoteIdentMySQL("t"), "`t`"},
		{"mysql ident backquotes and space", QuoteIdentMySQL("a`b c``"), "`a``b c`````"},
		{"mysql ident unicode", QuoteIdentMySQL("ünï ✓"), "`ünï ✓`"},
		{"mysql literal plain", QuoteLiteralMySQL("abc"), "'abc'"},
		{"mysql literal specials", QuoteLiteralMySQL("a'b\\c\nd\re\x00f\x1ag\th\"i"), `'a''b\\c\nd\re\0f\Zg` + "\t" + `h"i'`},
		{"mysql literal backslash N stays two characters", QuoteLiteralMySQL(`\N`), `'\\N'`},
		{"mysql literal empty", QuoteLiteralMySQL(""), "''"},
		{"pg ident", QuoteIdentPG(`My "T"`), `"My ""T"""`},
		{"pg literal plain", QuoteLiteralPG("it's ünï"), `'it''s ünï'`},
		{"pg literal backslash", QuoteLiteralPG(`\N`), `E'\\N'`},
		{"pg literal controls", QuoteLiteralPG("a\tb\nc\rd\be\ff\x00g\x1bh\x7f'"), `E'a\tb\nc\rd\be\ff\x00g\x1bh\x7f'''`},
		{"pg literal empty", QuoteLiteralPG(""), "''"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, tt.got, tt.want)
		}
	}
}

// checkQuotes verifies that every quoting helper gives back s when read by
// the matching lexer. It is shared by TestQuoteRoundTrip and FuzzQuote.
func checkQuotes(t *testing.T, s string) {
	t.Helper()
	switch q := QuoteIdentMySQL(s); {
	case s == "":
	case strings.ContainsRune(s, 0):
		// No MySQL identifier can hold NUL; the lexer must refuse it
		// rather than read something else.
		if _, err := lexOne(q, tokQuotedIdent); err == nil {
			t.Errorf("QuoteIdentMySQL(%q) = %q lexes, want an error", s, q)
		}
	default:
		if got, err := lexOne(q, tokQuotedIdent); err != nil || got != s {
			t.Errorf("QuoteIdentMySQL(%q) = %s reads back as %q, %v", s, q, got, err)
		}
	}
	q := QuoteLiteralMySQL(s)
	if got, err := lexOne(q, tokString); err != nil || got != s {
		t.Errorf("QuoteLiteralMySQL(%q) = %s reads back as %q, %v", s, q, got, err)
	}
	if end := literalEndNoBackslashEscapes(q); end != len(q) {
		t.Errorf("QuoteLiteralMySQL(%q) = %s ends at byte %d under NO_BACKSLASH_ESCAPES, want %d", s, q, end, len(q))
	}
	q = QuoteIdentPG(s)
	if got, err := unquotePG(q); err != nil || got != s {
		t.Errorf("QuoteIdentPG(%q) = %s reads back as %q, %v", s, q, got, err)
	}
	q = QuoteLiteralPG(s)
	if got, err := unquotePG(q); err != nil || got != s {
		t.Errorf("QuoteLiteralPG(%q) = %s reads back as %q, %v", s, q, got, err)
	}
	if strings.ContainsRune(q, 0) {
		t.Errorf("QuoteLiteralPG(%q) = %q holds a raw NUL", s, q)
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range quoteSeeds() {
		checkQuotes(t, s)
	}
}

func quoteSeeds() []string {
	return []string{"", "a", "'", "''", `\`, `\'`, `'\`, "`", "``", `"`, "\x00", "\n\r\t\b\f\v\x1a\x7f",
		`\N`, `\Z`, `\0`, `\%\_`, "ünï ✓", "\xff\xfe", "E'x'", "$$", "-- x", "/* x */", "a;DROP TABLE t"}
}

// lexOne lexes src and wants exactly one token of kind.
func lexOne(src string, kind tokenKind) (string, error) {
	toks, err := lex(src)
	if err != nil {
		return "", err
	}
	if len(toks) != 2 || toks[0].kind != kind {
		return "", errors.New("not a single token of the expected kind")
	}
	return toks[0].val, nil
}

// literalEndNoBackslashEscapes returns where a '…' literal at the start of
// q ends when backslashes are ordinary characters, as under MySQL's
// NO_BACKSLASH_ESCAPES.
func literalEndNoBackslashEscapes(q string) int {
	for i := 1; i < len(q); i++ {
		if q[i] == '\'' {
			if i+1 < len(q) && q[i+1] == '\'' {
				i++
				continue
			}
			return i + 1
		}
	}
	return -1
}

// unquotePG reads one PostgreSQL quoted identifier "…", standard string
// '…' or escape string E'…' spanning all of q, as the server would with
// standard_conforming_strings on.
func unquotePG(q string) (string, error) {
	escapes := strings.HasPrefix(q, "E'")
	if escapes {
		q = q[1:]
	}
	if len(q) < 2 || (q[0] != '\'' && q[0] != '"') || q[len(q)-1] != q[0] {
		return "", errors.New("not quoted")
	}
	quote, body := q[0], q[1:len(q)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == quote:
			if i+1 >= len(body) || body[i+1] != quote {
				return "", errors.New("quote not doubled")
			}
			b.WriteByte(quote)
			i++
		case c == '\\' && escapes:
			if i+1 >= len(body) {
				return "", errors.New("dangling backslash")
			}
			i++
			switch body[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'x':
				if i+2 >= len(body) {
					return "", errors.New("short \\x escape")
				}
				n, err := strconv.ParseUint(body[i+1:i+3], 16, 8)
				if err != nil {
					return "", err
				}
				b.WriteByte(byte(n))
				i += 2
			default:
				b.WriteByte(body[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
