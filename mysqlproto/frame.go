package mysqlproto

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// MaxPayload is the largest payload of one physical packet. A payload of
// exactly MaxPayload bytes is continued by the next packet; a logical
// packet ends with a shorter one (possibly empty).
const MaxPayload = 1<<24 - 1

// Reader reads packets from a connection.
type Reader struct {
	r   *bufio.Reader
	buf []byte
	h   [4]byte // a frame's header: a field, so reading one allocates nothing
}

// NewReader reads packets from r through a buffer of size bytes.
func NewReader(r io.Reader, size int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, size)}
}

// Buffered is how many bytes are read from the connection and not yet
// returned: zero means the next Frame may block.
func (r *Reader) Buffered() int { return r.r.Buffered() }

// Frame reads one physical packet. payload is valid until the next call;
// a payload of MaxPayload bytes means the logical packet goes on in the
// next frame. A connection closed between packets is io.EOF; inside one,
// io.ErrUnexpectedEOF.
func (r *Reader) Frame() (seq byte, payload []byte, err error) {
	h := r.h[:]
	if _, err := io.ReadFull(r.r, h); err != nil {
		return 0, nil, err
	}
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	if cap(r.buf) < n {
		r.buf = make([]byte, n, max(n, 2*cap(r.buf)))
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, fmt.Errorf("read a %d-byte packet: %w", n, err)
	}
	return h[3], r.buf, nil
}

// Packet reads one logical packet, joining continuation packets, and
// returns the sequence id of its last frame. The payload is a fresh slice
// only when the packet spans several frames; otherwise it is valid until
// the next call. limit bounds the joined size (a message this package
// parses is never large; a row may be).
func (r *Reader) Packet(limit int) (seq byte, payload []byte, err error) {
	seq, p, err := r.Frame()
	if err != nil || len(p) < MaxPayload {
		return seq, p, err
	}
	joined := append([]byte(nil), p...)
	for len(p) == MaxPayload {
		if seq, p, err = r.Frame(); err != nil {
			return 0, nil, err
		}
		if len(joined)+len(p) > limit {
			return 0, nil, fmt.Errorf("packet of more than %d bytes", limit)
		}
		joined = append(joined, p...)
	}
	return seq, joined, nil
}

// Writer writes packets to a connection through a buffer; nothing is sent
// until Flush.
type Writer struct {
	w *bufio.Writer
	h [4]byte // a frame's header: a field, so writing one allocates nothing
}

// NewWriter writes packets to w through a buffer of size bytes.
func NewWriter(w io.Writer, size int) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, size)}
}

// Frame writes one physical packet; len(payload) must not exceed
// MaxPayload.
func (w *Writer) Frame(seq byte, payload []byte) error {
	n := len(payload)
	if n > MaxPayload {
		return fmt.Errorf("frame of %d bytes: the most is %d", n, MaxPayload)
	}
	w.h = [4]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}
	if _, err := w.w.Write(w.h[:]); err != nil {
		return err
	}
	_, err := w.w.Write(payload)
	return err
}

// Packet writes a logical packet, split into frames as the protocol
// requires, and returns the sequence id that follows its last frame.
func (w *Writer) Packet(seq byte, payload []byte) (byte, error) {
	for {
		n := min(len(payload), MaxPayload)
		if err := w.Frame(seq, payload[:n]); err != nil {
			return seq, err
		}
		seq++
		payload = payload[n:]
		if n < MaxPayload {
			return seq, nil
		}
	}
}

// Flush sends what is buffered.
func (w *Writer) Flush() error { return w.w.Flush() }

// Raw is the reader under the packet framing, its buffered bytes first:
// for a relay that stops parsing and copies bytes.
func (r *Reader) Raw() io.Reader { return r.r }
