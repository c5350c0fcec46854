package format

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Guess chooses Options for a file from a sample of its first bytes
// (already decompressed; 64 KiB is plenty) and its name: the format (csv,
// tsv, jsonl, json or xml), the delimiter, whether the first line is a
// header, the XML row element and, when the sample is not UTF-8, the latin1
// charset. The content decides; the extension only breaks ties. The last
// line of the sample is ignored when it may be cut.
func Guess(sample []byte, name string) (Options, error) {
	sample = bytes.TrimPrefix(sample, bom)
	body := bytes.TrimLeft(sample, " \t\r\n")
	if len(body) == 0 {
		return Options{}, errors.New("guess: the sample is empty")
	}
	if bytes.IndexByte(sample, 0) >= 0 {
		return Options{}, errors.New("guess: the sample is binary (compressed or not text)")
	}
	ext := path.Ext(trimCompressionExt(strings.ToLower(name)))
	var o Options
	switch {
	case body[0] == '<':
		o = Options{Format: "xml", RowsIdentifiedBy: "<" + guessRow(body) + ">"}
	case body[0] == '[':
		o = Options{Format: "json"}
	case body[0] == '{':
		o = Options{Format: "json"}
		if first, _, _ := bytes.Cut(body, []byte{'\n'}); ext == ".jsonl" || ext == ".ndjson" || json.Valid(first) {
			o.Format = "jsonl"
		}
	default:
		o = guessDelimited(sample, ext)
	}
	if !utf8.Valid(completeLines(sample)) {
		o.Charset = "latin1"
	}
	return o, nil
}

func trimCompressionExt(name string) string {
	for _, ext := range []string{".gz", ".gzip", ".zst", ".zstd", ".bz2", ".zip"} {
		if strings.HasSuffix(name, ext) {
			return strings.TrimSuffix(name, ext)
		}
	}
	return name
}

// completeLines drops a last line that may be cut, unless it is the only one.
func completeLines(sample []byte) []byte {
	if k := bytes.LastIndexByte(sample, '\n'); k >= 0 {
		return sample[:k+1]
	}
	return sample
}

// guessRow names the first element inside the root: the row element.
func guessRow(doc []byte) string {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict = false
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return "row"
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth++; depth == 2 {
				return t.Name.Local
			}
		case xml.EndElement:
			depth--
		}
	}
}

// guessDelimited picks the delimiter whose field count is the most
// consistent across lines (then the highest), and the header.
func guessDelimited(sample []byte, ext string) Options {
	lines := strings.Split(strings.ReplaceAll(string(completeLines(sample)), "\r\n", "\n"), "\n")
	lines = slicesDeleteEmpty(lines)
	best, bestScore := ",", -1.0
	if ext == ".tsv" || ext == ".tab" {
		best = "\t"
	}
	for _, d := range []string{",", "\t", ";", "|"} {
		counts := map[int]int{}
		for _, l := range lines {
			counts[len(splitQuoted(l, d))]++
		}
		mode, freq := 0, 0
		for n, f := range counts {
			if f > freq || (f == freq && n > mode) {
				mode, freq = n, f
			}
		}
		if mode < 2 {
			continue
		}
		// Consistency first, width second, the extension's delimiter on ties.
		score := float64(freq)/float64(len(lines))*1000 + float64(mode)
		if score > bestScore || (score == bestScore && ext == ".tsv" && d == "\t") {
			best, bestScore = d, score
		}
	}
	o := Options{Format: "csv", FieldsTerminatedBy: best}
	if best == "\t" {
		o = Options{Format: "tsv"}
		if strings.Contains(string(sample), "\t\"") || strings.HasPrefix(string(sample), "\"") {
			o = Options{Format: "csv", FieldsTerminatedBy: "\t"}
		}
	}
	if best == "," {
		o.FieldsTerminatedBy = ""
	}
	o.Header = guessHeader(lines, best)
	return o
}

func slicesDeleteEmpty(lines []string) []string {
	out := lines[:0]
	for _, l := range lines {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// guessHeader says the first line is a header when all its fields look like
// names (non-empty, unique, not numbers) and some later line has a field
// that does not.
func guessHeader(lines []string, delim string) bool {
	if len(lines) < 2 {
		return false
	}
	seen := map[string]bool{}
	for _, f := range splitQuoted(lines[0], delim) {
		if !isName(f) || seen[f] {
			return false
		}
		seen[f] = true
	}
	for _, l := range lines[1:] {
		for _, f := range splitQuoted(l, delim) {
			if !isName(f) {
				return true
			}
		}
	}
	return false
}

func isName(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(unicode.IsLetter(r) || r == '_' || (i > 0 && (unicode.IsDigit(r) || r == ' ' || r == '-' || r == '.'))) {
			return false
		}
	}
	return true
}

// splitQuoted splits a line on delim outside double quotes, unquoting
// fields; good enough for guessing.
func splitQuoted(line, delim string) []string {
	var fields []string
	var cur strings.Builder
	inQuote := false
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '"':
			inQuote = !inQuote
		case !inQuote && strings.HasPrefix(line[i:], delim):
			fields = append(fields, cur.String())
			cur.Reset()
			i += len(delim) - 1
		default:
			cur.WriteByte(line[i])
		}
	}
	return append(fields, cur.String())
}
