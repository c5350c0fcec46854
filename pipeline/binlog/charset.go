package binlog

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
)

// collationBinary is the collation of binary strings (and their
// charset's only one).
const collationBinary = 63

// text converts a character column's bytes to a UTF-8 string.
type text func([]byte) string

// utf8Text takes UTF-8 (and ASCII) bytes as they are: MariaDB checks what
// it stores; a malformed byte sequence, which an old or lax server may
// have let in, becomes U+FFFD so the string stays valid UTF-8.
func utf8Text(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// latin1Text is MariaDB's latin1: Windows-1252, with the five bytes it
// leaves undefined mapped to the C1 controls of the same value (every
// byte converts).
func latin1Text(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/2)
	for _, c := range b {
		r := charmap.Windows1252.DecodeByte(c)
		if r == utf8.RuneError {
			r = rune(c)
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// encodings are the multi-byte and single-byte charsets other than UTF-8
// and latin1 that are converted, by MariaDB's charset name.
var encodings = map[string]encoding.Encoding{
	"latin2": charmap.ISO8859_2, "latin5": charmap.ISO8859_9, "latin7": charmap.ISO8859_13,
	"greek": charmap.ISO8859_7, "hebrew": charmap.ISO8859_8, "cp1250": charmap.Windows1250,
	"cp1251": charmap.Windows1251, "cp1256": charmap.Windows1256, "cp1257": charmap.Windows1257,
	"cp850": charmap.CodePage850, "cp852": charmap.CodePage852, "cp866": charmap.CodePage866,
	"koi8r": charmap.KOI8R, "koi8u": charmap.KOI8U, "macroman": charmap.Macintosh,
	"sjis": japanese.ShiftJIS, "cp932": japanese.ShiftJIS, "ujis": japanese.EUCJP, "eucjpms": japanese.EUCJP,
	"euckr": korean.EUCKR, "gbk": simplifiedchinese.GBK, "gb2312": simplifiedchinese.GBK,
	"big5":    traditionalchinese.Big5,
	"ucs2":    unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM),
	"utf16":   unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM),
	"utf16le": unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM),
	"utf32":   utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM),
}

// isUTF8 reports whether charset's bytes are UTF-8.
func isUTF8(charset string) bool {
	switch charset {
	case "utf8mb4", "utf8mb3", "utf8", "ascii":
		return true
	}
	return false
}

// textOf returns the conversion of charset (MariaDB's name); ok is false
// for binary and for a charset this package can't convert, whose values
// stay bytes.
func textOf(charset string) (text, bool) {
	switch {
	case isUTF8(charset):
		return utf8Text, true
	case charset == "latin1":
		return latin1Text, true
	}
	enc, ok := encodings[charset]
	if !ok {
		return nil, false
	}
	return func(b []byte) string {
		out, err := enc.NewDecoder().Bytes(b)
		if err != nil {
			return utf8Text(b)
		}
		return utf8Text(out)
	}, true
}
