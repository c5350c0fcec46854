package statement

import (
	"strings"
)

// QuoteIdentMySQL quotes name as a MySQL or MariaDB identifier: in
// backquotes, with backquotes inside doubled. Any name round-trips through
// the lexer; the server itself still refuses empty names, NUL, characters
// above U+FFFF and names ending in a space.
func QuoteIdentMySQL(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// QuoteLiteralMySQL quotes s as a MySQL or MariaDB string literal. Single
// quotes are doubled; backslash, NUL, newline, carriage return and Ctrl-Z
// are backslash-escaped (\\, \0, \n, \r, \Z); every other byte is kept.
//
// Quotes are doubled rather than backslash-escaped so that the literal ends
// exactly where intended even under sql_mode NO_BACKSLASH_ESCAPES: in that
// mode the escaped characters would arrive with their backslashes (wrong
// data), but nothing can break out of the literal. The exact value needs
// the default mode, which is what MariaDB loaders must use.
func QuoteLiteralMySQL(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			b.WriteString("''")
		case '\\':
			b.WriteString(`\\`)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case 0x1a:
			b.WriteString(`\Z`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// QuoteIdentPG quotes name as a PostgreSQL identifier: in double quotes,
// with double quotes inside doubled. The quoted name is case-sensitive;
// PostgreSQL refuses empty names and NUL.
func QuoteIdentPG(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// QuoteLiteralPG quotes s as a PostgreSQL string literal.
//
// When s holds no backslash and no control character the result is a
// standard '…' literal with single quotes doubled. Otherwise it is an
// escape string E'…' with quotes doubled and backslash, newline, tab,
// carriage return, backspace, form feed and other control bytes written as
// \\, \n, \t, \r, \b, \f and \xHH. E'…' means the same whatever
// standard_conforming_strings says, which a plain literal holding a
// backslash would not, and it keeps control characters visible in logs.
// PostgreSQL text can't hold NUL: a NUL becomes \x00, which the server
// refuses, rather than a raw NUL that would cut the query short.
func QuoteLiteralPG(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f }) {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	b.WriteString("E'")
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			b.WriteString("''")
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c < 0x20 || c == 0x7f:
			const hex = "0123456789abcdef"
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
