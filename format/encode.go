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
// backslash escapes, \N for NULL; a row is always one line. Runs of bytes
// that need no escape are appended whole: this is the hot loop of every
// decoded load.
func TextRow(dst []byte, rec []Value) []byte {
	for i, v := range rec {
		if i > 0 {
			dst = append(dst, '\t')
		}
		if v.Null {
			dst = append(dst, `\N`...)
			continue
		}
		s := v.S
		for {
			j := 0
			for j < len(s) && textEscape[s[j]] == 0 {
				j++
			}
			dst = append(dst, s[:j]...)
			if j == len(s) {
				break
			}
			dst = append(dst, '\\', textEscape[s[j]])
			s = s[j+1:]
		}
	}
	return append(dst, '\n')
}

// textEscape is the letter after the backslash that stands for each byte
// TextRow escapes, 0 for the bytes written as they are.
var textEscape = [256]byte{'\\': '\\', '\t': 't', '\n': 'n', '\r': 'r', 0: '0', 0x1a: 'Z'}
