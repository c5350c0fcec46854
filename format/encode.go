package format

import "strings"

// An Encoder appends one decoded record, in a database's bulk-load format
// and ending with a newline, to dst: the way back from a Reader's records
// to what PostgreSQL's COPY or MariaDB's LOAD DATA reads.
type Encoder func(dst []byte, rec []Value) []byte

// CSVRow encodes RFC 4180 CSV for a COPY … (FORMAT csv): NULL is an
// unquoted empty field and every value is quoted, so an empty string and
// NULL stay apart.
func CSVRow(dst []byte, rec []Value) []byte {
	for i, v := range rec {
		if i > 0 {
			dst = append(dst, ',')
		}
		if v.Null {
			continue
		}
		dst = append(dst, '"')
		for s := v.S; ; {
			j := strings.IndexByte(s, '"')
			if j < 0 {
				dst = append(dst, s...)
				break
			}
			dst = append(dst, s[:j+1]...)
			dst = append(dst, '"')
			s = s[j+1:]
		}
		dst = append(dst, '"')
	}
	return append(dst, '\n')
}

// TextRow encodes MySQL's default LOAD DATA format: tab-separated,
// backslash escapes, \N for NULL; a row is always one line.
func TextRow(dst []byte, rec []Value) []byte {
	for i, v := range rec {
		if i > 0 {
			dst = append(dst, '\t')
		}
		if v.Null {
			dst = append(dst, `\N`...)
			continue
		}
		for j := 0; j < len(v.S); j++ {
			switch c := v.S[j]; c {
			case '\\':
				dst = append(dst, `\\`...)
			case '\t':
				dst = append(dst, `\t`...)
			case '\n':
				dst = append(dst, `\n`...)
			case '\r':
				dst = append(dst, `\r`...)
			case 0:
				dst = append(dst, `\0`...)
			case 0x1a:
				dst = append(dst, `\Z`...)
			default:
				dst = append(dst, c)
			}
		}
	}
	return append(dst, '\n')
}
