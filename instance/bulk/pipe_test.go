package bulk

import (
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/s3bridge/s3bridge/format"
)

// watchedSource is an endless CSV file that counts the reads made after
// it was closed, as a decompressor the runner closed would see them.
type watchedSource struct {
	closed    atomic.Bool
	lateReads atomic.Int32
	off       int
}

const sourceRow = "1,\"a value long enough to fill the pipe's buffer soon\"\n"

func (w *watchedSource) Read(p []byte) (int, error) {
	if w.closed.Load() {
		w.lateReads.Add(1)
		return 0, io.ErrClosedPipe
	}
	// Small reads, as from a network: the encoder needs thousands of them
	// to fill its buffer, so an encoder still running after Close would
	// be caught reading.
	p = p[:min(len(p), 64)]
	for i := range p {
		p[i] = sourceRow[w.off]
		w.off = (w.off + 1) % len(sourceRow)
	}
	return len(p), nil
}

// TestPipeClosedEarly: a stream closed before its end (the database
// refused the COPY) stops its encoder before Close returns, so the caller
// may close the source next: no read reaches it afterwards and no
// goroutine is left.
func TestPipeClosedEarly(t *testing.T) {
	for _, read := range []int{0, 1 << 10, 1 << 20} {
		before := goleak.IgnoreCurrent()
		src := &watchedSource{}
		rows, err := NewRows(src, "endless.csv", format.Options{Format: "csv"}, []string{"id", "v"}, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := Pipe(rows, format.CSVRow)
		if _, err := io.CopyN(io.Discard, s, int64(read)); err != nil {
			t.Fatalf("read %d bytes: %v", read, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		src.closed.Store(true)
		if err := s.Close(); err != nil {
			t.Fatalf("second close: %v", err)
		}
		// Only once the encoder is gone has every read it would make
		// been made.
		goleak.VerifyNone(t, before)
		if n := src.lateReads.Load(); n > 0 {
			t.Errorf("after reading %d bytes: %d reads of the source after Close", read, n)
		}
		if err := s.Err(); err != nil {
			t.Errorf("after reading %d bytes: Err after Close: got %v, want nil", read, err)
		}
	}
}

// TestPipeReadsToEnd: a stream read to its end needs Close only to be
// tidy, and reports no error.
func TestPipeReadsToEnd(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	rows, err := NewRows(strings.NewReader("1,a\n2,\"b\"\"c\"\n"), "f.csv", format.Options{Format: "csv"}, []string{"id", "v"}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := Pipe(rows, format.CSVRow)
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := "\"1\",\"a\"\n\"2\",\"b\"\"c\"\n"; string(got) != want {
		t.Errorf("stream: got %q, want %q", got, want)
	}
	if err := s.Close(); err != nil || s.Err() != nil {
		t.Errorf("close: %v, Err %v", err, s.Err())
	}
}
