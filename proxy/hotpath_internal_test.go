package proxy

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/s3bridge/s3bridge/mysqlproto"
)

// loop is a connection end that replays the same bytes forever: the
// client's query, or the server's answer to it, once per command.
type loop struct {
	b   []byte
	off int
}

func (l *loop) Read(p []byte) (int, error) {
	n := copy(p, l.b[l.off:])
	l.off = (l.off + n) % len(l.b)
	return n, nil
}

// countingWriter counts the bytes and the writes it gets (a write is a
// send on a real connection).
type countingWriter struct{ bytes, writes int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.bytes += len(p)
	w.writes++
	return len(p), nil
}

// frames is the wire form of payloads sent with sequence ids from seq.
func frames(t testing.TB, seq byte, payloads ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := mysqlproto.NewWriter(&b, 1024)
	for _, p := range payloads {
		if err := w.Frame(seq, p); err != nil {
			t.Fatal(err)
		}
		seq++
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pointSelect is a session in the middle of mariadb-slap's workload: the
// client sends a point select (COM_QUERY) and the server answers with one
// column and one row, EOFs included (no CLIENT_DEPRECATE_EOF, as
// mariadb-slap). It returns the bytes of a query and of an answer, and
// what the relay sends the client and the server.
func pointSelect(t testing.TB) (s *session, query, answer []byte, client, server *countingWriter) {
	t.Helper()
	query = frames(t, 0, append([]byte{mysqlproto.ComQuery}, "SELECT v FROM t WHERE id = 4242"...))
	eof := []byte{mysqlproto.HeaderEOF, 0, 0, 2, 0} // autocommit
	column := []byte("\x03def\x14s3bridge_bench_proxy\x01t\x01t\x01v\x01v\x0c\x21\x00\x78\x00\x00\x00\xfd\x00\x00\x00\x00\x00")
	answer = frames(t, 1, []byte{1}, column, eof, []byte("\x0avalue 4242"), eof)
	client, server = &countingWriter{}, &countingWriter{}
	s = &session{bridge: &Bridge{}, log: slog.New(slog.DiscardHandler),
		cr: mysqlproto.NewReader(&loop{b: query}, bufSize), cw: mysqlproto.NewWriter(client, bufSize),
		ur: mysqlproto.NewReader(&loop{b: answer}, bufSize), uw: mysqlproto.NewWriter(server, bufSize)}
	return s, query, answer, client, server
}

// TestRelayHotPath: relaying a point select and its answer allocates
// nothing and passes every byte on, with one write to each side per
// command (the query, then the whole answer), not one per packet.
func TestRelayHotPath(t *testing.T) {
	s, query, answer, client, server := pointSelect(t)
	ctx := t.Context()
	if err := s.command(ctx); err != nil { // sizes the buffers
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := s.command(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("relaying a point select allocates %v times; want 0", allocs)
	}
	if err := s.cw.Flush(); err != nil { // the next command would send the last answer
		t.Fatal(err)
	}
	n := 102 // commands: one, then AllocsPerRun's warm-up and 100 runs
	if server.writes != n || server.bytes != n*len(query) {
		t.Errorf("server got %d bytes in %d writes; want %d in %d", server.bytes, server.writes, n*len(query), n)
	}
	if client.writes != n || client.bytes != n*len(answer) {
		t.Errorf("client got %d bytes in %d writes; want %d in %d", client.bytes, client.writes, n*len(answer), n)
	}
}

// BenchmarkRelayPointSelect is the proxy's own work per point select,
// without the network: the rest of its cost is the kernel's (see
// bench/proxy.sh).
func BenchmarkRelayPointSelect(b *testing.B) {
	s, _, _, _, _ := pointSelect(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.command(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
