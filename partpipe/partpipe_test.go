package partpipe

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// TestStream: whatever the sizes of the writes and of the lent buffers,
// the reader gets every byte in order, full buffers until the last, then
// io.EOF.
func TestStream(t *testing.T) {
	for _, c := range []struct {
		name       string
		total      int
		writeMax   int
		bufferSize int
	}{
		{"small writes, big buffers", 100_000, 97, 4096},
		{"writes larger than buffers", 100_000, 10_000, 333},
		{"exact multiple", 4096 * 3, 4096, 4096},
		{"nothing written", 0, 10, 64},
		{"one byte", 1, 1, 64},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := make([]byte, c.total)
			rng := rand.New(rand.NewPCG(1, uint64(c.total)))
			for i := range want {
				want[i] = byte(rng.Uint32())
			}
			r, w := New()
			go func() {
				b := want
				for len(b) > 0 {
					k := min(len(b), 1+rng.IntN(c.writeMax))
					if n, err := w.Write(b[:k]); n != k || err != nil {
						t.Errorf("Write: %d, %v", n, err)
						return
					}
					b = b[k:]
				}
				if err := w.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
			var got []byte
			for {
				buf := make([]byte, c.bufferSize)
				n, err := r.Fill(t.Context(), buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if n != len(buf) {
					t.Fatalf("Fill returned %d of %d bytes without an error", n, len(buf))
				}
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("read %d bytes, not the %d written", len(got), len(want))
			}
			// The end stays the end.
			if n, err := r.Fill(t.Context(), make([]byte, 8)); n != 0 || err != io.EOF {
				t.Fatalf("Fill after the end: %d, %v", n, err)
			}
		})
	}
}

// TestRead: Reader is an io.Reader for consumers that don't lend.
func TestRead(t *testing.T) {
	r, w := New()
	want := bytes.Repeat([]byte("row,1,2\n"), 10_000)
	go func() {
		for b := want; len(b) > 0; b = b[8:] {
			w.Write(b[:8])
		}
		w.Close()
	}()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadAll: %d bytes, %v", len(got), err)
	}
}

// TestWriterError: the reader gets the writer's error, not the bytes of
// the buffer it had lent.
func TestWriterError(t *testing.T) {
	r, w := New()
	boom := errors.New("boom")
	go func() {
		w.Write([]byte("partial"))
		w.CloseWithError(boom)
	}()
	n, err := r.Fill(t.Context(), make([]byte, 64))
	if n != 0 || !errors.Is(err, boom) {
		t.Fatalf("Fill: %d, %v; want 0, boom", n, err)
	}
	if _, err := w.Write([]byte("x")); err != io.ErrClosedPipe {
		t.Fatalf("Write after Close: %v", err)
	}
}

// TestReaderError: a writer blocked for a buffer, or holding one, fails
// with the reader's error at once.
func TestReaderError(t *testing.T) {
	boom := errors.New("upload failed")
	for _, lent := range []bool{false, true} {
		r, w := New()
		if lent {
			go r.Fill(context.Background(), make([]byte, 4)) // lends, then waits for ever
			if _, err := w.Write([]byte("ab")); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan error, 1)
		go func() {
			_, err := w.Write(make([]byte, 100))
			done <- err
		}()
		time.Sleep(10 * time.Millisecond)
		r.CloseWithError(boom)
		select {
		case err := <-done:
			if !errors.Is(err, boom) {
				t.Fatalf("lent %v: Write: %v; want the reader's error", lent, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("lent %v: Write still blocked after the reader closed", lent)
		}
	}
}

// TestFillCancelled: a Fill waiting on a writer that never writes returns
// when its context ends.
func TestFillCancelled(t *testing.T) {
	r, w := New()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := r.Fill(ctx, make([]byte, 8)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Fill: %v", err)
	}
	// Lent and partly written, then cancelled.
	ctx, cancel = context.WithCancel(t.Context())
	go func() {
		w.Write([]byte("abc"))
		cancel()
	}()
	if _, err := r.Fill(ctx, make([]byte, 8)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Fill: %v", err)
	}
}

func BenchmarkRows(b *testing.B) {
	row := []byte("1234567,name 1234567,123.45,567,2026-01-01 00:00:01,t,617283.5,0123456789abcdef0123456789abcdef\n")
	b.SetBytes(int64(len(row)))
	r, w := New()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 16<<20)
		for {
			if _, err := r.Fill(context.Background(), buf); err != nil {
				return
			}
		}
	}()
	for b.Loop() {
		w.Write(row)
	}
	w.Close()
	<-done
}

// TestWriteAfterReaderFailed: once the reader has failed (its upload), the
// next Write fails with its error, even while the lent buffer has room.
func TestWriteAfterReaderFailed(t *testing.T) {
	r, w := New()
	boom := errors.New("upload failed")
	ctx, cancel := context.WithCancel(t.Context())
	filled := make(chan error, 1)
	go func() {
		_, err := r.Fill(ctx, make([]byte, 1<<20)) // lends, then gives up
		filled <- err
	}()
	if _, err := w.Write([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-filled
	r.CloseWithError(boom)
	if n, err := w.Write([]byte("cd")); n != 0 || !errors.Is(err, boom) {
		t.Fatalf("Write after the reader failed: %d, %v; want 0 and its error", n, err)
	}
}

// TestLentCapacity: the writer fills a lent buffer to its length, never
// into the capacity beyond it.
func TestLentCapacity(t *testing.T) {
	r, w := New()
	go func() {
		w.Write([]byte("0123456789"))
		w.Close()
	}()
	backing := make([]byte, 8, 64)
	n, err := r.Fill(t.Context(), backing[:4])
	if n != 4 || err != nil || string(backing[:4]) != "0123" || backing[4] != 0 {
		t.Fatalf("Fill: %d, %v, %q; want 4 bytes and nothing past them", n, err, backing[:8])
	}
	rest, err := io.ReadAll(r)
	if err != nil || string(rest) != "456789" {
		t.Fatalf("the rest: %q, %v", rest, err)
	}
}
