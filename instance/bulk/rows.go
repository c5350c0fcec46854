package bulk

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/s3bridge/s3bridge/format"
)

// Rows aligns decoded records to a table's target columns: positionally for
// delimited formats (a record with too many or too few fields is an error
// naming its line), by name for JSON and XML (a name that is no target
// column is an error; a target column the record lacks is NULL).
type Rows struct {
	rd      format.Reader
	file    string
	cols    []string
	byName  bool
	index   [][]int // by name: target column -> the record fields it may come from
	seen    int     // len(rd.Columns()) when index was built
	out     []format.Value
	skipBad bool
	onBad   func(file string, err error)
}

// NewRows decodes r with o and aligns its records to cols.
func NewRows(r io.Reader, file string, o format.Options, cols []string, skipBad bool, onBad func(string, error)) (*Rows, error) {
	rd, err := format.NewReader(r, o)
	if err != nil {
		return nil, err
	}
	f := strings.ToLower(o.Format)
	return &Rows{rd: rd, file: file, cols: cols, byName: f == "json" || f == "jsonl" || f == "ndjson" || f == "xml",
		out: make([]format.Value, len(cols)), skipBad: skipBad, onBad: onBad}, nil
}

// Next returns the next row aligned to the columns, or io.EOF.
func (r *Rows) Next() ([]format.Value, error) {
	for {
		rec, err := r.rd.Next()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err == nil {
			if err = r.align(rec); err == nil {
				return r.out, nil
			}
		}
		var fe *format.Error
		if r.skipBad && errors.As(err, &fe) && !fe.Fatal {
			r.onBad(r.file, err)
			continue
		}
		return nil, err
	}
}

// Line is the line where the last row started.
func (r *Rows) Line() int { return r.rd.Line() }

func (r *Rows) align(rec []format.Value) error {
	if !r.byName {
		if len(rec) != len(r.cols) {
			return &format.Error{Line: r.rd.Line(), Err: fmt.Errorf("%d fields, but %d columns (%s) are loaded", len(rec), len(r.cols), strings.Join(r.cols, ", "))}
		}
		copy(r.out, rec)
		return nil
	}
	if names := r.rd.Columns(); len(names) != r.seen {
		if err := r.reindex(names); err != nil {
			return err
		}
	}
	for i, fields := range r.index {
		r.out[i] = format.Value{Null: true}
		for _, j := range fields {
			if j < len(rec) && !rec[j].Null {
				r.out[i] = rec[j]
				break
			}
		}
	}
	return nil
}

// reindex maps the record's names to the target columns by
// HeaderColumns' rule (exact, then case-insensitive when unique). Names
// seen so far are a union over the records, so two spellings of a column
// ("ID" in one record, "id" in another) may both map to it: a record takes
// the first present, the exact spelling first.
func (r *Rows) reindex(names []string) error {
	r.index = make([][]int, len(r.cols))
	for j, n := range names {
		i, err := matchColumn(n, r.cols)
		if err != nil {
			return &format.Error{Line: r.rd.Line(), Field: n, Err: fmt.Errorf("no column named %q is loaded: %w (columns: %s)", n, err, strings.Join(r.cols, ", "))}
		}
		if n == r.cols[i] {
			r.index[i] = append([]int{j}, r.index[i]...)
		} else {
			r.index[i] = append(r.index[i], j)
		}
	}
	r.seen = len(names)
	return nil
}

// reject reports a row the database refused, at the source line where it
// started, through the load's OnBadRow.
func (r *Rows) reject(line int, column string, err error) {
	if r.onBad != nil {
		r.onBad(r.file, &format.Error{Line: line, Field: column, Err: err})
	}
}

// Encoder is format.Encoder: Pipe and SendSkipping re-encode rows with
// format.CSVRow (PostgreSQL's COPY) or format.TextRow (LOAD DATA).
type Encoder = format.Encoder

// Stream is a decoded file re-encoded for a database's bulk path (Pipe).
type Stream struct {
	pr    *io.PipeReader
	stop  chan struct{} // closed by Close: the encoder reads no further row
	done  chan struct{} // closed when the encoder has returned
	once  sync.Once
	lines lineMap
	mu    sync.Mutex
	err   error
}

// Pipe re-encodes rows with enc into a pipe, so a decoded stream feeds a
// native bulk path with flat memory. The encoder reads rows in a goroutine
// of its own until the end of rows or Close, which waits for it.
func Pipe(rows *Rows, enc Encoder) *Stream {
	pr, pw := io.Pipe()
	s := &Stream{pr: pr, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		err := s.encode(rows, pw, enc)
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		pw.CloseWithError(err)
	}()
	return s
}

// Read reads the re-encoded rows.
func (s *Stream) Read(p []byte) (int, error) { return s.pr.Read(p) }

// Close stops the encoder and waits for its goroutine to end, so the
// caller may close the rows' source (a decompressor, a download) right
// after: nothing reads it any more. It may be called more than once (a
// MySQL driver closes the LOCAL INFILE reader it was given).
func (s *Stream) Close() error {
	s.once.Do(func() {
		close(s.stop)
		s.pr.Close() // an encoder blocked writing to the pipe returns
	})
	<-s.done
	return nil
}

// Err returns the error that ended the stream early, if any: a row the
// decoder could not read, whose position is the file's, is the cause of
// the database's error about the stream ending (the bulk path wraps it
// into its own message otherwise).
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if errors.Is(s.err, io.ErrClosedPipe) {
		return nil
	}
	return s.err
}

// SourceLine returns the line of the source file where the row on line n
// of the stream (1-based, as the database counts lines: a CSV value with a
// line break takes several) started, if it is still remembered.
func (s *Stream) SourceLine(n int) (int, bool) { return s.lines.source(n) }

func (s *Stream) encode(rows *Rows, w io.Writer, enc Encoder) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	var buf []byte
	for {
		select {
		case <-s.stop:
			return io.ErrClosedPipe // as a write after Close would
		default:
		}
		rec, err := rows.Next()
		if err == io.EOF {
			return bw.Flush()
		}
		if err != nil {
			return err
		}
		buf = enc(buf[:0], rec)
		s.lines.add(rows.Line(), bytes.Count(buf, newline))
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
}

var newline = []byte{'\n'}
