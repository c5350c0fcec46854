package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/s3bridge/s3bridge/statement"
)

// copyOut runs COPY (query) TO STDOUT (options) on conn in the caller's
// transaction and writes its output to w, one row per Write, the header
// row first when options ask for one. When csvPlan finds that s3bridge
// writes exactly the bytes PostgreSQL would (CSV of whitelisted types under
// session settings whose text output is known), it asks for FORMAT binary
// instead, which costs the server less CPU to produce than CSV (issue 14),
// and transcodes it; otherwise PostgreSQL writes the text itself. fields
// describe query's columns, or are nil to have copyOut describe them. It
// reports whether the binary path ran.
func copyOut(ctx context.Context, conn *pgx.Conn, w io.Writer, query string, fields []pgconn.FieldDescription, options string) (bool, error) {
	t, err := csvPlan(ctx, conn, query, fields, options)
	if err != nil {
		return false, err
	}
	// The newline ends a trailing -- comment in the query.
	sql := "COPY (" + query + "\n) TO STDOUT ("
	if t == nil {
		if _, err := conn.PgConn().CopyTo(ctx, w, sql+options+")"); err != nil {
			return false, queryErr(err)
		}
		return false, nil
	}
	t.w = w
	if _, err := conn.PgConn().CopyTo(ctx, t, sql+"FORMAT binary)"); err != nil {
		return true, queryErr(err)
	}
	if err := t.finish(); err != nil {
		return true, queryErr(err)
	}
	return true, nil
}

// csvOptions are the COPY options the binary path reproduces: CSV, NULL
// as the empty string, no FORCE_QUOTE, no ENCODING.
type csvOptions struct {
	header                   bool
	delimiter, quote, escape byte
}

// parseCSVOptions reads exactly the forms export's CopyOptions.String
// renders (FORMAT csv, then HEADER true, DELIMITER, NULL as the empty
// string, QUOTE and ESCAPE, each optional, in that order) and reports false for anything
// else, which then goes to PostgreSQL as text COPY. It also refuses what
// COPY would refuse (a delimiter equal to the quote, a newline), so an
// error stays PostgreSQL's own.
func parseCSVOptions(s string) (csvOptions, bool) {
	o := csvOptions{delimiter: ',', quote: '"'}
	rest, ok := strings.CutPrefix(s, "FORMAT csv")
	if !ok {
		return o, false
	}
	if r, ok := strings.CutPrefix(rest, ", HEADER true"); ok {
		o.header, rest = true, r
	}
	escape := byte(0)
	for _, opt := range []struct {
		name string
		v    *byte
	}{{"DELIMITER", &o.delimiter}, {"NULL", nil}, {"QUOTE", &o.quote}, {"ESCAPE", &escape}} {
		r, ok := strings.CutPrefix(rest, ", "+opt.name+" ")
		if !ok {
			continue
		}
		if opt.v == nil {
			// Only the default, NULL '', is the binary path's.
			if rest, ok = strings.CutPrefix(r, "''"); !ok {
				return o, false
			}
			continue
		}
		if *opt.v, rest, ok = oneByteLiteral(r); !ok {
			return o, false
		}
	}
	o.escape = escape
	if escape == 0 {
		o.escape = o.quote
	}
	if rest != "" || o.delimiter == o.quote || o.delimiter == o.escape || !plainByte(o.delimiter, true) ||
		!plainByte(o.quote, false) || !plainByte(o.escape, false) {
		return o, false
	}
	return o, true
}

// plainByte: printable ASCII, or a tab where tab is allowed; no byte
// COPY would refuse or an encoding could make part of a character.
func plainByte(c byte, tab bool) bool {
	return c >= 0x20 && c < 0x7f || tab && c == '\t'
}

// oneByteLiteral reads a literal of one ASCII byte, as
// statement.QuoteLiteralPG renders it, from the start of s.
func oneByteLiteral(s string) (byte, string, bool) {
	for c := 1; c < 0x80; c++ {
		lit := statement.QuoteLiteralPG(string(rune(c)))
		if r, ok := strings.CutPrefix(s, lit); ok && (r == "" || strings.HasPrefix(r, ", ")) {
			return byte(c), r, true
		}
	}
	return 0, s, false
}

// settingsSQL reads the session settings that decide the text output of
// the whitelisted types.
const settingsSQL = `SELECT current_setting('DateStyle'), current_setting('TimeZone'),
	current_setting('extra_float_digits')::int, current_setting('bytea_output'),
	current_setting('client_encoding'), current_setting('server_encoding'),
	current_setting('server_version_num')::int`

// session is what settingsSQL reads.
type session struct {
	dateStyle, timeZone string
	floatDigits         int
	byteaOutput         string
	client, server      string
	version             int
}

// minCSVVersion is the first server version whose float8 output is the
// shortest form (Ryu) the binary path prints.
const minCSVVersion = 120000

// csvPlan returns a transcoder for query's rows when options are
// parseCSVOptions' and every column's text form is one csvColumn writes
// exactly under the transaction's settings, and nil otherwise.
func csvPlan(ctx context.Context, conn *pgx.Conn, query string, fields []pgconn.FieldDescription, options string) (*csvTranscoder, error) {
	opts, ok := parseCSVOptions(options)
	if !ok {
		return nil, nil
	}
	var s session
	if err := conn.QueryRow(ctx, settingsSQL).Scan(&s.dateStyle, &s.timeZone, &s.floatDigits, &s.byteaOutput,
		&s.client, &s.server, &s.version); err != nil {
		return nil, fmt.Errorf("read the session's output settings: %w", err)
	}
	// Without conversion between the encodings, a text value's binary form
	// is its text, and CSV's special bytes are never part of a character.
	if s.client != "UTF8" || s.server != "UTF8" || s.version < minCSVVersion {
		return nil, nil
	}
	if fields == nil {
		sd, err := conn.Prepare(ctx, "", query)
		if err != nil {
			return nil, queryErr(err)
		}
		fields = sd.Fields
	}
	t := newCSVTranscoder(opts, len(fields))
	for i, f := range fields {
		kind, alphabet := csvKindOf(f.DataTypeOID, s)
		if kind == 0 {
			return nil, nil
		}
		t.cols[i] = csvColumn{kind: kind, scan: t.mayQuote(alphabet)}
	}
	if opts.header {
		t.keepHeader(fields)
	}
	return t, nil
}

// csvColumn writes one column's values: scan says whether their text may
// need quoting, which it can't when its alphabet holds no delimiter,
// quote or newline.
type csvColumn struct {
	kind csvKind
	scan bool
	last day // of a date or timestamp column
}

// csvTranscoder is an io.Writer of binary COPY data, in messages whose
// boundaries need not be a tuple's, that writes each tuple to w as one CSV
// row, in one Write, as PostgreSQL's CopyAttributeOutCSV would.
type csvTranscoder struct {
	w       io.Writer
	opts    csvOptions
	cols    []csvColumn
	special [256]bool // bytes that make a value quoted
	splat   [2]uint64 // the delimiter and the quote in every byte of a word
	header  []byte    // the header row, written before the first tuple
	started bool      // the binary header was read
	done    bool      // the trailer was read
	pending []byte    // an incomplete tuple, carried to the next Write
	out     []byte    // the row being written, reused
	scratch []byte
	row     int64
}

func newCSVTranscoder(opts csvOptions, width int) *csvTranscoder {
	t := &csvTranscoder{opts: opts, cols: make([]csvColumn, width), out: make([]byte, 0, 1024)}
	for _, c := range []byte{opts.delimiter, opts.quote, '\n', '\r'} {
		t.special[c] = true
	}
	t.splat = [2]uint64{uint64(opts.delimiter) * 0x0101010101010101, uint64(opts.quote) * 0x0101010101010101}
	return t
}

// mayQuote reports whether text of alphabet may need quoting; an empty
// alphabet is any text.
func (t *csvTranscoder) mayQuote(alphabet string) bool {
	if alphabet == "" || len(t.cols) == 1 && strings.Contains(alphabet, `\`) && strings.Contains(alphabet, ".") {
		return true
	}
	for i := 0; i < len(alphabet); i++ {
		if t.special[alphabet[i]] {
			return true
		}
	}
	return false
}

// keepHeader keeps the header row, written when the data begins: the
// column names, quoted by the same rule as values.
func (t *csvTranscoder) keepHeader(fields []pgconn.FieldDescription) {
	var h []byte
	for i, f := range fields {
		if i > 0 {
			h = append(h, t.opts.delimiter)
		}
		if name := []byte(f.Name); t.needsQuote(name) {
			h = t.appendQuoted(h, name)
		} else {
			h = append(h, name...)
		}
	}
	t.header = append(h, '\n')
}

// needsQuote reports whether CopyAttributeOutCSV would quote v, a
// value's text: when it is empty (the NULL string), holds the delimiter,
// the quote, \n or \r, or is \. alone in a one-column row (the
// end-of-data marker). It reads v eight bytes at a time.
func (t *csvTranscoder) needsQuote(v []byte) bool {
	if len(v) == 0 || len(t.cols) == 1 && string(v) == `\.` {
		return true
	}
	// A word with no delimiter, no quote and no control byte (\n and \r
	// are, and the others are rare) needs no closer look.
	delim, quote := t.splat[0], t.splat[1]
	i := 0
	for ; i+8 <= len(v); i += 8 {
		x := binary.LittleEndian.Uint64(v[i:])
		if hasZeroByte(x^delim)|hasZeroByte(x^quote)|hasLessByte(x, 0x20) != 0 {
			break
		}
	}
	for ; i < len(v); i++ {
		if t.special[v[i]] {
			return true
		}
	}
	return false
}

// hasZeroByte is non-zero exactly when a byte of x is zero.
func hasZeroByte(x uint64) uint64 {
	return (x - 0x0101010101010101) &^ x & 0x8080808080808080
}

// hasLessByte is non-zero exactly when a byte of x is less than n, for
// n ≤ 128.
func hasLessByte(x uint64, n uint64) uint64 {
	return (x - n*0x0101010101010101) &^ x & 0x8080808080808080
}

// appendQuoted appends v quoted, each quote or escape character in it
// preceded by the escape character.
func (t *csvTranscoder) appendQuoted(dst, v []byte) []byte {
	dst = append(dst, t.opts.quote)
	for _, c := range v {
		if c == t.opts.quote || c == t.opts.escape {
			dst = append(dst, t.opts.escape)
		}
		dst = append(dst, c)
	}
	return append(dst, t.opts.quote)
}

// binarySignature starts binary COPY data, before its flags and header
// extension.
const binarySignature = "PGCOPY\n\xff\r\n\x00"

// Write takes binary COPY data; a tuple cut between writes waits in
// pending for its end.
func (t *csvTranscoder) Write(b []byte) (int, error) {
	data := b
	if len(t.pending) > 0 {
		t.pending = append(t.pending, b...)
		data = t.pending
	}
	n, err := t.consume(data)
	if err != nil {
		return 0, err
	}
	rest := data[n:]
	if len(t.pending) > 0 {
		t.pending = t.pending[:copy(t.pending, rest)]
	} else {
		t.pending = append(t.pending, rest...)
	}
	return len(b), nil
}

// consume reads the complete parts of data (the binary header, tuples,
// the trailer) and returns how many bytes they took.
func (t *csvTranscoder) consume(data []byte) (int, error) {
	off := 0
	if !t.started {
		const fixed = len(binarySignature) + 8
		if len(data) < fixed {
			return 0, nil
		}
		if string(data[:len(binarySignature)]) != binarySignature {
			return 0, fmt.Errorf("binary COPY data without its signature")
		}
		flags := binary.BigEndian.Uint32(data[len(binarySignature):])
		ext := int(binary.BigEndian.Uint32(data[len(binarySignature)+4:]))
		// Bits 0-15 are critical (a reader must refuse one it doesn't
		// know) and bit 16 says OIDs follow, which s3bridge doesn't read;
		// bits 17-31 may be ignored.
		if flags&0x0001ffff != 0 {
			return 0, fmt.Errorf("binary COPY data with flags %#x, which s3bridge does not know", flags)
		}
		if len(data) < fixed+ext {
			return 0, nil
		}
		off = fixed + ext
		t.started = true
		if t.header != nil {
			if _, err := t.w.Write(t.header); err != nil {
				return 0, err
			}
		}
	}
	for off < len(data) {
		if t.done {
			return 0, fmt.Errorf("binary COPY data after its trailer")
		}
		n, err := t.tuple(data[off:])
		if err != nil {
			return 0, err
		}
		if n == 0 {
			break
		}
		off += n
	}
	return off, nil
}

// tuple writes the tuple at the start of data as a CSV row and returns its
// length, or 0 when data holds only part of it. The trailer, a field count
// of -1, ends the data.
func (t *csvTranscoder) tuple(data []byte) (int, error) {
	if len(data) < 2 {
		return 0, nil
	}
	count := int16(binary.BigEndian.Uint16(data))
	if count == -1 {
		t.done = true
		return 2, nil
	}
	if int(count) != len(t.cols) {
		return 0, fmt.Errorf("binary COPY row %d has %d fields, want %d", t.row+1, count, len(t.cols))
	}
	off := 2
	out := t.out[:0]
	cols, delim := t.cols, t.opts.delimiter
	for i := range cols {
		c := &cols[i]
		if len(data)-off < 4 {
			return 0, nil
		}
		size := int(int32(binary.BigEndian.Uint32(data[off:])))
		off += 4
		if i > 0 {
			out = append(out, delim)
		}
		if size < 0 {
			// NULL is the empty string, unquoted.
			continue
		}
		if len(data)-off < size {
			return 0, nil
		}
		v := data[off : off+size]
		off += size
		if c.kind == kindText {
			// Quoted straight from the message, the common case unquoted.
			if c.scan && t.needsQuote(v) {
				out = t.appendQuoted(out, v)
			} else {
				out = append(out, v...)
			}
			continue
		}
		start := len(out)
		var err error
		if out, err = c.encode(out, v); err != nil {
			return 0, fmt.Errorf("binary COPY row %d, column %d: %w", t.row+1, i+1, err)
		}
		if c.scan && t.needsQuote(out[start:]) {
			t.scratch = append(t.scratch[:0], out[start:]...)
			out = t.appendQuoted(out[:start], t.scratch)
		}
	}
	out = append(out, '\n')
	t.out = out
	t.row++
	if _, err := t.w.Write(out); err != nil {
		return 0, err
	}
	return off, nil
}

// finish checks that the data ended with its trailer.
func (t *csvTranscoder) finish() error {
	if !t.done || len(t.pending) > 0 {
		return fmt.Errorf("binary COPY data ended after row %d without its trailer", t.row)
	}
	return nil
}
