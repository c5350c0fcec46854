package connector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/format/compress"
)

// Sampling bounds: guess and preview read at most this much of an object,
// never the whole of a large one.
const (
	guessFiles      = 3         // objects sampled
	sampleBytes     = 64 << 10  // decompressed bytes of each sample
	sampleRawBytes  = 16 << 20  // compressed bytes read to get them
	guessMinPresent = 40        // an object smaller than this says little (an empty gzip is 33 bytes)
	previewRows     = 15        // Embulk's preview_sample_rows
	previewBytes    = 256 << 10 // decompressed bytes a preview reads per object
)

// sample is the decompressed head of one object.
type sample struct {
	key      string
	data     []byte
	complete bool // the whole object: its last line is whole
	codec    compress.Codec
}

// readSample reads the decompressed head of an object, at most limit
// bytes of it, reading at most sampleRawBytes of the object.
func readSample(ctx context.Context, store ObjectStore, bucket string, o s3bridge.Object, limit int) (sample, error) {
	s := sample{key: o.Key}
	body, _, err := store.Open(ctx, bucket, o.Key)
	if err != nil {
		return s, fmt.Errorf("read s3://%s/%s: %w", bucket, o.Key, err)
	}
	defer body.Close()
	raw := io.LimitReader(body, sampleRawBytes)
	data, codec, err := compress.Decompress(raw, o.Key, "", 0)
	s.codec = codec
	if errors.Is(err, compress.ErrNeedsReaderAt) {
		return s, fmt.Errorf("s3://%s/%s is a zip archive: guess and preview can't sample one without reading it whole; "+
			"write in.parser yourself", bucket, o.Key)
	}
	if err != nil {
		return s, fmt.Errorf("read s3://%s/%s: %w", bucket, o.Key, err)
	}
	defer data.Close()
	buf := make([]byte, limit+1)
	n, err := io.ReadFull(data, buf)
	switch {
	case err == nil:
		s.data = buf[:limit]
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		// The whole object fit, unless the raw limit cut a compressed
		// one short (its decoder says unexpected EOF then too).
		s.data, s.complete = buf[:n], codec == compress.None || o.Size <= sampleRawBytes
	default:
		if n == 0 {
			return s, fmt.Errorf("read s3://%s/%s: %w", bucket, o.Key, err)
		}
		s.data = buf[:n] // a truncated compressed stream: use what came
	}
	return s, nil
}

// Guess fills the config's parser (and decoders) from samples of the
// first few objects it selects: the format, charset, newline, delimiter,
// quote, escape, header, column names and types. It reads a bounded head
// of each object, never a whole large one.
func Guess(ctx context.Context, store ObjectStore, c Config) (Config, error) {
	if err := c.ValidateSeed(); err != nil {
		return c, err
	}
	objs, err := c.candidates(ctx, store, nil)
	if err != nil {
		return c, err
	}
	if len(objs) == 0 {
		return c, fmt.Errorf("guess: no object to sample at %s (zero-byte objects are skipped)", c.where())
	}
	// The first object of a useful size decides the format, as in Embulk.
	first := 0
	for i, o := range objs {
		if o.Size >= guessMinPresent {
			first = i
			break
		}
	}
	objs = append([]s3bridge.Object{objs[first]}, append(objs[:first:first], objs[first+1:]...)...)
	var samples []sample
	for _, o := range objs[:min(len(objs), guessFiles)] {
		s, err := readSample(ctx, store, c.In.Bucket, o, sampleBytes)
		if err != nil {
			return c, err
		}
		samples = append(samples, s)
	}
	p, err := guessParser(samples)
	if err != nil {
		return c, err
	}
	out := c
	out.In.Parser = p
	out.In.Decoders = nil
	if codec := samples[0].codec; codec != compress.None && codec != "" {
		out.In.Decoders = []Decoder{{Type: string(codec)}}
	}
	return out, nil
}

// guessParser guesses from the first sample and types the columns over
// every sample.
func guessParser(samples []sample) (Parser, error) {
	s := samples[0]
	o, err := format.Guess(s.data, s.key)
	if err != nil {
		return Parser{}, fmt.Errorf("guess %s: %w", s.key, err)
	}
	p := Parser{Charset: "UTF-8", Newline: newline(s.data)}
	if !utf8.Valid(wholeLines(s)) {
		p.Charset = "windows-1252"
	}
	switch o.Format {
	case "jsonl", "json":
		p.Type = o.Format
		return guessJSON(p, samples)
	case "csv", "tsv":
		return guessDelimited(p, o, samples)
	}
	return Parser{}, fmt.Errorf("guess %s: the objects look like %s; a connector reads csv, tsv, jsonl or json", s.key, o.Format)
}

// wholeLines is the sample without a last line the sample cut.
func wholeLines(s sample) []byte {
	if s.complete {
		return s.data
	}
	if k := bytes.LastIndexByte(s.data, '\n'); k >= 0 {
		return s.data[:k+1]
	}
	return s.data
}

// newline is Embulk's newline guess: CRLF, CR or LF by counts.
func newline(b []byte) string {
	crlf := bytes.Count(b, []byte("\r\n"))
	cr := bytes.Count(b, []byte("\r")) - crlf
	lf := bytes.Count(b, []byte("\n")) - crlf
	switch {
	case crlf > 0 && crlf*2 > cr && crlf*2 > lf:
		return "CRLF"
	case cr > 0 && cr*2 > lf:
		return "CR"
	}
	return "LF"
}

func guessDelimited(p Parser, o format.Options, samples []sample) (Parser, error) {
	delim := cmpOr(o.FieldsTerminatedBy, ",")
	quoted := o.Format == "csv"
	if o.Format == "tsv" {
		delim = "\t" // format.Guess's tsv: tab-separated, unquoted
	}
	p.Type = "csv"
	if delim == "\t" {
		p.Type = "tsv"
	}
	p.Delimiter = delim
	if quoted {
		q := `"`
		esc := `"`
		if bytes.Contains(samples[0].data, []byte(`\"`)) {
			esc = `\`
		}
		p.Quote, p.Escape = &q, &esc
	}
	// Read the records without a header first: whether the first is one
	// is decided on their types.
	probe := p
	probe.Columns = nil
	recs, err := records(probe, samples[0])
	if err != nil {
		return p, err
	}
	if len(recs) == 0 {
		return p, fmt.Errorf("guess %s: no complete row in the sample", samples[0].key)
	}
	if nulls := nullString(recs); nulls != "" {
		p.NullString = &nulls
	}
	header := o.Header || typedHeader(recs)
	width := len(recs[0])
	var names []string
	if header {
		p.SkipHeaderLines = 1
		names = recs[0]
		recs = recs[1:]
	}
	guesses := make([]columnGuess, width)
	addRows := func(rs [][]string) {
		for _, r := range rs {
			for i := 0; i < len(r) && i < width; i++ {
				if p.NullString == nil || r[i] != *p.NullString {
					guesses[i].add(r[i])
				}
			}
		}
	}
	addRows(recs)
	for _, s := range samples[1:] {
		more, err := records(p, s)
		if err == nil {
			addRows(more)
		}
	}
	p.Columns = columns(names, guesses)
	return p, nil
}

// records reads the sample's whole rows as strings with the parser's
// options (no header skipped unless the parser says so), stopping at the
// first row it can't read.
func records(p Parser, s sample) ([][]string, error) {
	o, err := p.options()
	if err != nil {
		return nil, err
	}
	o.NullString, o.NullEmpty = "", false
	rd, err := format.NewReader(bytes.NewReader(wholeLines(s)), o)
	if err != nil {
		return nil, fmt.Errorf("guess %s: %w", s.key, err)
	}
	var out [][]string
	for len(out) < 1000 {
		rec, err := rd.Next()
		if err != nil {
			break
		}
		row := make([]string, len(rec))
		for i, v := range rec {
			row[i] = v.S
		}
		out = append(out, row)
	}
	return out, nil
}

// typedHeader is Embulk's header rule: the first row is all strings
// (or booleans) while some column below it is of another type.
func typedHeader(recs [][]string) bool {
	if len(recs) < 2 {
		return false
	}
	seen := map[string]bool{}
	for _, f := range recs[0] {
		if t, _ := valueType(strings.TrimSpace(f)); (t != TypeString && t != TypeBoolean) || seen[f] {
			return false
		}
		seen[f] = true
	}
	for i := range recs[0] {
		var g columnGuess
		for _, r := range recs[1:] {
			if i < len(r) {
				g.add(r[i])
			}
		}
		if t, _ := g.column(); t != TypeString && t != TypeBoolean {
			return true
		}
	}
	return false
}

// nullString is the most frequent whole-field NULL spelling, if any.
func nullString(recs [][]string) string {
	counts := map[string]int{}
	for _, r := range recs {
		for _, f := range r {
			switch f {
			case "NULL", "null", `\N`, "#N/A":
				counts[f]++
			}
		}
	}
	best, n := "", 0
	for f, c := range counts {
		if c > n || (c == n && f < best) {
			best, n = f, c
		}
	}
	return best
}

// columns names and types the guessed columns: header names trimmed,
// else (and for an empty or repeated one) c0, c1…
func columns(names []string, guesses []columnGuess) []Column {
	cols := make([]Column, len(guesses))
	seen := map[string]bool{}
	for i := range guesses {
		name := ""
		if i < len(names) {
			name = strings.TrimSpace(names[i])
		}
		if name == "" || seen[strings.ToLower(name)] {
			name = fmt.Sprintf("c%d", i)
		}
		seen[strings.ToLower(name)] = true
		t, f := guesses[i].column()
		cols[i] = Column{Name: name, Type: t, Format: f}
	}
	return cols
}

func guessJSON(p Parser, samples []sample) (Parser, error) {
	var names []string
	index := map[string]int{}
	var guesses []columnGuess
	for _, s := range samples {
		o := format.Options{Format: p.Type, Charset: charset(p.Charset)}
		rd, err := format.NewReader(bytes.NewReader(s.data), o)
		if err != nil {
			return p, fmt.Errorf("guess %s: %w", s.key, err)
		}
		for n := 0; n < 1000; n++ {
			rec, err := rd.Next()
			if err != nil {
				break // the end, or where the sample was cut
			}
			cols := rd.Columns()
			for j, v := range rec {
				if j >= len(cols) {
					break
				}
				k, ok := index[cols[j]]
				if !ok {
					k = len(names)
					index[cols[j]] = k
					names = append(names, cols[j])
					guesses = append(guesses, columnGuess{})
				}
				if !v.Null {
					guesses[k].add(v.S)
				}
			}
		}
	}
	if len(names) == 0 {
		return p, fmt.Errorf("guess %s: no complete JSON object in the sample", samples[0].key)
	}
	p.Columns = columns(names, guesses)
	return p, nil
}
