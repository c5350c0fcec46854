// Package partpipe is an in-memory pipe whose reader lends its own buffer
// to the writer. io.Pipe copies each Write into the reader's buffer; a
// producer that already batches its output in a buffer of its own (a
// bufio.Writer before the pipe) so pays for every byte twice. With
// partpipe the producer writes straight into the upload's part buffer:
// one copy, and one hand-over per part instead of one per Write.
//
// Writes block until the reader lends a buffer, as io.Pipe's block until
// it reads, so memory stays what the reader lends.
package partpipe

import (
	"cmp"
	"context"
	"io"
	"sync"
	"sync/atomic"
)

// New returns the two ends of a pipe.
func New() (*Reader, *Writer) {
	p := &pipe{
		lend:  make(chan []byte),
		back:  make(chan []byte),
		rdone: make(chan struct{}),
		wdone: make(chan struct{}),
	}
	return &Reader{p: p}, &Writer{p: p}
}

type pipe struct {
	lend chan []byte // reader → writer: an empty buffer to fill
	back chan []byte // writer → reader: that buffer, full, or short at the end

	rdone   chan struct{} // closed when the reader closes
	rerr    error         // set before rdone closes
	rclosed atomic.Bool   // set after rdone closes: a cheap look for Write

	wdone chan struct{} // closed when the writer closes
	werr  error         // set before wdone closes: io.EOF for a plain Close
	wonce sync.Once
	ronce sync.Once
}

// Reader is the reading end.
type Reader struct{ p *pipe }

// Fill lends buf to the writer and returns once the writer has filled it
// (n == len(buf), nil), or has closed: what it wrote into buf before a
// plain Close comes with io.EOF (n may be 0), and a CloseWithError gives
// its error. When ctx ends first Fill returns ctx's error and gives buf
// up: the writer may still write into it, so the caller must not reuse
// it.
func (r *Reader) Fill(ctx context.Context, buf []byte) (int, error) {
	p := r.p
	if len(buf) == 0 {
		return 0, nil
	}
	select {
	case p.lend <- buf:
	case <-p.wdone:
		return 0, p.werr
	case <-p.rdone:
		return 0, io.ErrClosedPipe
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case b := <-p.back:
		if len(b) < len(buf) {
			// Only Close hands back a short buffer; wdone is closed
			// right after.
			<-p.wdone
			return len(b), p.werr
		}
		return len(b), nil
	case <-p.wdone:
		// Closed with an error: the buffer stays with the writer.
		return 0, p.werr
	case <-p.rdone:
		return 0, io.ErrClosedPipe
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Read implements io.Reader for readers that don't lend: it lends p.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.Fill(context.Background(), p)
	if err == io.EOF && n > 0 {
		err = nil // the next Read reports the end
	}
	return n, err
}

// CloseWithError closes the reader: the writer's pending and later Writes
// fail with err (io.ErrClosedPipe when nil).
func (r *Reader) CloseWithError(err error) error {
	r.p.ronce.Do(func() {
		r.p.rerr = cmp.Or(err, io.ErrClosedPipe)
		close(r.p.rdone)
		r.p.rclosed.Store(true)
	})
	return nil
}

// Close closes the reader; the writer's Writes fail with io.ErrClosedPipe.
func (r *Reader) Close() error { return r.CloseWithError(nil) }

// Writer is the writing end. It is not safe for concurrent use.
type Writer struct {
	p   *pipe
	cur []byte // the lent buffer, filled up to len
	end bool
}

// Write copies b into lent buffers, handing each back as it fills; it
// blocks while the reader lends none.
func (w *Writer) Write(b []byte) (int, error) {
	p := w.p
	if w.end {
		return 0, io.ErrClosedPipe
	}
	if p.rclosed.Load() {
		// A reader that failed (the upload) stops the writer at its next
		// Write, not only when the lent buffer fills.
		return 0, p.rerrAfterClose()
	}
	n := 0
	for len(b) > 0 {
		if w.cur == nil {
			select {
			case buf := <-p.lend:
				w.cur = buf[:0:len(buf)]
			case <-p.rdone:
				return n, p.rerr
			}
		}
		k := copy(w.cur[len(w.cur):cap(w.cur)], b)
		w.cur = w.cur[:len(w.cur)+k]
		b = b[k:]
		n += k
		if len(w.cur) == cap(w.cur) {
			select {
			case p.back <- w.cur:
				w.cur = nil
			case <-p.rdone:
				return n, p.rerr
			}
		}
	}
	return n, nil
}

// Close ends the stream: the reader gets what was written, then io.EOF.
// It waits for the reader to take the last, short buffer.
func (w *Writer) Close() error { return w.CloseWithError(nil) }

// CloseWithError ends the stream with err (a plain end when nil): the
// reader's Fill returns err, without the bytes of a buffer it lent.
func (w *Writer) CloseWithError(err error) error {
	p := w.p
	if w.end {
		return nil
	}
	w.end = true
	var res error
	if err == nil && w.cur != nil {
		select {
		case p.back <- w.cur:
		case <-p.rdone:
			res = p.rerr
		}
	}
	w.cur = nil
	p.wonce.Do(func() {
		p.werr = cmp.Or(err, io.EOF)
		close(p.wdone)
	})
	return res
}

// rerrAfterClose is the reader's error, once rclosed is seen.
func (p *pipe) rerrAfterClose() error {
	<-p.rdone // orders the read of rerr after its write
	return p.rerr
}
