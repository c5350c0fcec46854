package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/s3bridge/s3bridge/mysqlproto"
	"github.com/s3bridge/s3bridge/statement"
)

// stripped are the capabilities the proxy removes from the server's
// greeting, so that no client asks for them: each changes the framing or
// the packets in ways the relay would have to decode (compression, TLS,
// MySQL's query attributes and optional metadata, MariaDB's progress
// reports, COM_MULTI and metadata caching).
const stripped = mysqlproto.ClientSSL | mysqlproto.ClientCompress | mysqlproto.ClientZstdCompression |
	mysqlproto.ClientQueryAttributes | mysqlproto.ClientOptionalResultsetMetadata |
	mysqlproto.MariaDBClientProgress | mysqlproto.MariaDBClientComMulti | mysqlproto.MariaDBClientCacheMetadata |
	mysqlproto.MariaDBClientExtendedMetadata

// bufSize is each direction's buffer: a point query and its answer fit.
const bufSize = 64 << 10

// errQuit ends a session normally (COM_QUIT, or the server closed).
var errQuit = errors.New("client quit")

// session is one client and its upstream connection.
type session struct {
	client, up  net.Conn
	cr, ur      *mysqlproto.Reader
	cw, uw      *mysqlproto.Writer
	bridge      *Bridge
	log         *slog.Logger
	tls         *tls.Config   // offered to the client, if set
	upTLS       *tls.Config   // spoken to the server, if set
	upOptional  bool          // a server without TLS is reached in plain text
	upstream    string        // the server's host:port, for messages
	dialTimeout time.Duration // bounds the TLS handshake with the server too
	keys        *rsaKey

	caps        uint64 // in force: the client's, as the server offered them
	clientLocal bool   // the client itself asked for CLIENT_LOCAL_FILES
	user        string
	// What the authentication relay must know to stand between a client
	// and a server of which only one speaks TLS (see fullAuth).
	clientSecure, upSecure bool
	plugin                 string // the auth plugin in use
	scramble               []byte // its scramble
}

func newSession(client, up net.Conn, b *Bridge, log *slog.Logger) *session {
	return &session{client: client, up: up, bridge: b, log: log,
		cr: mysqlproto.NewReader(client, bufSize), cw: mysqlproto.NewWriter(client, bufSize),
		ur: mysqlproto.NewReader(up, bufSize), uw: mysqlproto.NewWriter(up, bufSize)}
}

func (s *session) run(ctx context.Context) error {
	ok, err := s.handshake(ctx)
	if err != nil || !ok {
		return err
	}
	for {
		if err := s.command(ctx); err != nil {
			if errors.Is(err, errQuit) {
				return nil
			}
			return err
		}
	}
}

// handshake relays the greeting, the client's response and the
// authentication exchange, and reports whether the client got in. The
// client's side and the server's side each speak TLS or not on their own:
// the client's SSL request is answered by the proxy (with Config.TLS), and
// the proxy sends the server an SSL request of its own (with UpstreamTLS).
func (s *session) handshake(ctx context.Context) (bool, error) {
	seq, p, err := s.ur.Frame()
	if err != nil {
		refuse(s.client, fmt.Sprintf("s3bridge proxy: no greeting from the server: %v", err))
		return false, fmt.Errorf("read the server's greeting: %w", err)
	}
	h, err := mysqlproto.ParseHandshake(p)
	var serverErr *mysqlproto.Error
	if errors.As(err, &serverErr) {
		return false, s.relayFrame(s.cw, seq, p) // too many connections, a blocked host…
	}
	if err != nil {
		refuse(s.client, "s3bridge proxy: "+err.Error())
		return false, err
	}
	s.plugin, s.scramble = h.AuthPlugin, h.AuthData
	s.upSecure = s.upTLS != nil && h.Capabilities&mysqlproto.ClientSSL != 0
	if s.upTLS != nil && !s.upSecure && !s.upOptional {
		msg := fmt.Sprintf("s3bridge proxy: the server %s does not offer TLS, which the upstream URL asks for (tls=preferred accepts a plain connection)", s.upstream)
		refuse(s.client, msg)
		return false, errors.New(msg)
	}
	if s.tls != nil {
		h.SetCapabilities(p, h.Capabilities&^stripped|mysqlproto.ClientSSL)
	} else {
		h.ClearCapabilities(p, stripped)
	}
	if err := s.relayFrame(s.cw, seq, p); err != nil {
		return false, err
	}
	seq, p, err = s.cr.Frame()
	if err != nil {
		return false, fmt.Errorf("read the client's handshake response: %w", err)
	}
	r, err := mysqlproto.ParseResponse(p)
	if err != nil {
		return false, err
	}
	if r.SSLRequest {
		if s.tls == nil {
			return false, s.errPacket(seq+1, 1105, "08004", "s3bridge proxy: TLS is not offered; connect without it")
		}
		if seq, p, r, err = s.startTLS(); err != nil {
			return false, err
		}
		s.clientSecure = true
	}
	s.caps = r.Capabilities & (h.Capabilities | mysqlproto.ClientMySQL) &^ mysqlproto.ClientSSL
	s.clientLocal = s.caps&mysqlproto.ClientLocalFiles != 0
	s.user = r.User
	if r.AuthPlugin != "" {
		s.plugin = r.AuthPlugin
	}
	// The proxy's own LOAD DATA LOCAL INFILE needs the capability on the
	// session; a client that didn't ask for it still gets its own LOCAL
	// INFILE refused (see queryResponse).
	upCaps := s.caps | mysqlproto.ClientLocalFiles
	upSeq := byte(1) // the server's count: its greeting was 0
	if s.upSecure {
		upCaps |= mysqlproto.ClientSSL
		if err := s.startUpstreamTLS(ctx, upSeq, upCaps, r); err != nil {
			s.log.Warn("TLS with the server failed", "upstream", s.upstream, "err", err)
			s.errPacket(seq+1, 2026, "HY000", fmt.Sprintf("s3bridge proxy: TLS with the server %s: %v", s.upstream, err))
			return false, err
		}
		upSeq++
	}
	if err := mysqlproto.SetCapabilities(p, upCaps); err != nil {
		return false, err
	}
	if err := s.relayFrame(s.uw, upSeq, p); err != nil {
		return false, err
	}
	// The client counts its SSL request, if any, and the server the
	// proxy's: the exchange goes on with that difference.
	return s.auth(seq - upSeq)
}

// startTLS runs the TLS handshake with the client after its SSL request
// and reads its handshake response over TLS.
func (s *session) startTLS() (byte, []byte, *mysqlproto.Response, error) {
	// The client may have sent its ClientHello right behind the request,
	// into the packet reader's buffer: TLS reads from there first.
	tc := tls.Server(bufferedConn{Conn: s.client, r: s.cr.Raw()}, s.tls)
	if err := tc.Handshake(); err != nil {
		return 0, nil, nil, fmt.Errorf("TLS with the client: %w", err)
	}
	s.client = tc
	s.cr, s.cw = mysqlproto.NewReader(tc, bufSize), mysqlproto.NewWriter(tc, bufSize)
	seq, p, err := s.cr.Frame()
	if err != nil {
		return 0, nil, nil, fmt.Errorf("read the client's handshake response: %w", err)
	}
	r, err := mysqlproto.ParseResponse(p)
	return seq, p, r, err
}

// startUpstreamTLS sends the server an SSL request with sequence id seq
// and the capabilities, max packet size and charset of the response r
// that will follow, and runs the TLS handshake.
func (s *session) startUpstreamTLS(ctx context.Context, seq byte, caps uint64, r *mysqlproto.Response) error {
	req := mysqlproto.AppendSSLRequest(nil, caps, r.MaxPacket, r.Charset)
	if err := s.relayFrame(s.uw, seq, req); err != nil {
		return fmt.Errorf("send the SSL request: %w", err)
	}
	// Nothing follows the greeting before TLS: the reader's buffer is
	// empty, but reading through it costs nothing and stays correct.
	tc := tls.Client(bufferedConn{Conn: s.up, r: s.ur.Raw()}, s.upTLS)
	ctx, cancel := context.WithTimeout(ctx, s.dialTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	s.up = tc
	s.ur, s.uw = mysqlproto.NewReader(tc, bufSize), mysqlproto.NewWriter(tc, bufSize)
	return nil
}

// bufferedConn is a connection whose first bytes were read into r.
type bufferedConn struct {
	net.Conn
	r io.Reader
}

func (c bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// fromServer reads a frame from the server, first sending the client
// what is buffered for it when the read may block.
func (s *session) fromServer() (byte, []byte, error) {
	if s.ur.Buffered() == 0 {
		if err := s.cw.Flush(); err != nil {
			return 0, nil, err
		}
	}
	seq, p, err := s.ur.Frame()
	if errors.Is(err, io.EOF) {
		err = errQuit
	}
	return seq, p, err
}

// fromClient reads a frame from the client, first sending the server what
// is buffered for it when the read may block.
func (s *session) fromClient() (byte, []byte, error) {
	if s.cr.Buffered() == 0 {
		if err := s.uw.Flush(); err != nil {
			return 0, nil, err
		}
		if err := s.cw.Flush(); err != nil {
			return 0, nil, err
		}
	}
	seq, p, err := s.cr.Frame()
	if errors.Is(err, io.EOF) {
		err = errQuit
	}
	return seq, p, err
}

// relayFrame writes one frame and sends it.
func (s *session) relayFrame(w *mysqlproto.Writer, seq byte, p []byte) error {
	if err := w.Frame(seq, p); err != nil {
		return err
	}
	return w.Flush()
}

// command relays one client command and the server's whole response, or
// runs an S3 statement.
func (s *session) command(ctx context.Context) error {
	seq, p, err := s.fromClient()
	if err != nil {
		return err
	}
	if len(p) == 0 {
		return fmt.Errorf("empty command packet")
	}
	cmd := p[0]
	if cmd == mysqlproto.ComQuery && len(p) < mysqlproto.MaxPayload && mentionsS3(p[1:]) {
		// A query of 16 MiB or more is relayed unread: no S3 statement
		// is that long.
		if isS3, multi := statement.Detect(string(p[1:])); isS3 {
			return s.s3Statement(ctx, seq, string(p[1:]), multi)
		}
	}
	if err := s.uw.Frame(seq, p); err != nil {
		return err
	}
	for len(p) == mysqlproto.MaxPayload {
		if seq, p, err = s.cr.Frame(); err != nil {
			return err
		}
		if err := s.uw.Frame(seq, p); err != nil {
			return err
		}
	}
	if err := s.uw.Flush(); err != nil {
		return err
	}
	switch cmd {
	case mysqlproto.ComQuit:
		return errQuit
	case mysqlproto.ComStmtClose, mysqlproto.ComStmtSendLongData:
		return nil // no response
	case mysqlproto.ComQuery, mysqlproto.ComStmtExecute, mysqlproto.ComStmtBulkExecute:
		return s.queryResponse(cmd == mysqlproto.ComStmtExecute)
	case mysqlproto.ComStmtPrepare:
		return s.prepareResponse()
	case mysqlproto.ComStmtFetch:
		_, _, err := s.rows()
		return err
	case mysqlproto.ComFieldList:
		_, _, err := s.rows() // column definitions up to an EOF, or an ERR
		return err
	case mysqlproto.ComChangeUser:
		if plugin := mysqlproto.ChangeUserPlugin(p, s.caps); plugin != "" {
			s.plugin = plugin
		}
		_, err := s.auth(0)
		return err
	case mysqlproto.ComBinlogDump, mysqlproto.ComBinlogDumpGTID:
		return s.passThrough()
	}
	// Everything else (COM_PING, COM_INIT_DB, COM_PROCESS_KILL,
	// COM_STATISTICS, COM_RESET_CONNECTION, COM_SET_OPTION, …) is answered
	// with one packet.
	_, err = s.relayPacket()
	return err
}

// head is what the relay keeps of a packet it passed on: enough to tell
// its kind and read an OK's or EOF's status.
type head struct {
	b    [32]byte
	n    int
	size int // the first frame's length
}

func (h *head) bytes() []byte { return h.b[:h.n] }

func (h *head) isEOF() bool {
	return h.size > 0 && h.size < mysqlproto.MaxPayload && h.b[0] == mysqlproto.HeaderEOF
}
func (h *head) isErr() bool { return h.size > 0 && h.b[0] == mysqlproto.HeaderErr }
func (h *head) isOK() bool  { return h.size >= 7 && h.b[0] == mysqlproto.HeaderOK }

// status is the server status of an OK or EOF packet.
func (h *head) status(caps uint64) uint16 {
	if h.size == 5 && h.b[0] == mysqlproto.HeaderEOF {
		e, _ := mysqlproto.ParseEOF(h.bytes())
		return e.Status
	}
	st, _ := mysqlproto.Status(h.bytes(), caps)
	return st
}

// relayPacket passes one logical packet from the server to the client.
func (s *session) relayPacket() (head, error) {
	var h head
	seq, p, err := s.fromServer()
	if err != nil {
		return h, err
	}
	h.size, h.n = len(p), copy(h.b[:], p)
	if err := s.cw.Frame(seq, p); err != nil {
		return h, err
	}
	for len(p) == mysqlproto.MaxPayload {
		if seq, p, err = s.fromServer(); err != nil {
			return h, err
		}
		if err := s.cw.Frame(seq, p); err != nil {
			return h, err
		}
	}
	return h, nil
}

// queryResponse relays the response to COM_QUERY or COM_STMT_EXECUTE: OK,
// ERR, a LOCAL INFILE request, or result sets, as many as the server says
// follow.
func (s *session) queryResponse(execute bool) error {
	for {
		seq, p, err := s.fromServer()
		if err != nil {
			return err
		}
		var h head
		h.size, h.n = len(p), copy(h.b[:], p)
		if name, ok := mysqlproto.LocalInfile(p); ok && len(p) < mysqlproto.MaxPayload {
			done, err := s.clientInfile(seq, name)
			if err != nil || done {
				return err
			}
			continue
		}
		if err := s.cw.Frame(seq, p); err != nil {
			return err
		}
		for len(p) == mysqlproto.MaxPayload {
			if seq, p, err = s.fromServer(); err != nil {
				return err
			}
			if err := s.cw.Frame(seq, p); err != nil {
				return err
			}
		}
		var more bool
		switch {
		case h.isErr():
			return nil
		case h.isOK():
			more = h.status(s.caps)&mysqlproto.StatusMoreResultsExist != 0
		default:
			n, err := mysqlproto.ColumnCount(h.bytes())
			if err != nil {
				return err
			}
			if more, err = s.resultSet(n, execute); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
	}
}

// resultSet relays a result set after its column count: the column
// definitions, the EOF after them (without CLIENT_DEPRECATE_EOF) and the
// rows up to the EOF or OK that ends them, and reports whether another
// result follows.
func (s *session) resultSet(columns int, execute bool) (bool, error) {
	for range columns {
		if _, err := s.relayPacket(); err != nil {
			return false, err
		}
	}
	if s.caps&mysqlproto.ClientDeprecateEOF == 0 {
		h, err := s.relayPacket()
		if err != nil {
			return false, err
		}
		if h.isErr() {
			return false, nil
		}
		// A statement executed with a cursor sends its rows later, on
		// COM_STMT_FETCH.
		if execute && h.status(s.caps)&mysqlproto.StatusCursorExists != 0 {
			return false, nil
		}
	}
	more, _, err := s.rows()
	return more, err
}

// rows relays packets up to an EOF (or OK under CLIENT_DEPRECATE_EOF) or
// an ERR, and reports whether another result follows the EOF.
func (s *session) rows() (more bool, n int64, err error) {
	for {
		h, err := s.relayPacket()
		if err != nil {
			return false, n, err
		}
		switch {
		case h.isErr():
			return false, n, nil
		case h.isEOF():
			return h.status(s.caps)&mysqlproto.StatusMoreResultsExist != 0, n, nil
		}
		n++
	}
}

// prepareResponse relays COM_STMT_PREPARE's answer: an ERR, or an OK
// followed by the parameter and column definitions, each list ended by an
// EOF unless CLIENT_DEPRECATE_EOF.
func (s *session) prepareResponse() error {
	h, err := s.relayPacket()
	if err != nil || h.isErr() {
		return err
	}
	if h.n < 9 {
		return fmt.Errorf("COM_STMT_PREPARE response: malformed packet")
	}
	columns := int(h.b[5]) | int(h.b[6])<<8
	params := int(h.b[7]) | int(h.b[8])<<8
	for _, n := range []int{params, columns} {
		if n == 0 {
			continue
		}
		for range n {
			if _, err := s.relayPacket(); err != nil {
				return err
			}
		}
		if s.caps&mysqlproto.ClientDeprecateEOF == 0 {
			if _, err := s.relayPacket(); err != nil {
				return err
			}
		}
	}
	return nil
}

// clientInfile serves a LOCAL INFILE request answering the client's own
// LOAD DATA LOCAL INFILE: the client's file, streamed through as is. A
// client that did not ask for CLIENT_LOCAL_FILES (the proxy set it for
// its own loads) gets the error the server would have given it, and the
// server an empty file; done then reports the response complete.
func (s *session) clientInfile(seq byte, name string) (done bool, err error) {
	if !s.clientLocal {
		if err := s.relayFrame(s.uw, seq+1, nil); err != nil {
			return true, err
		}
		if _, _, err := s.ur.Packet(1 << 20); err != nil { // the OK of an empty load
			return true, err
		}
		// ER_NOT_ALLOWED_COMMAND, as the server says it.
		return true, s.errPacket(1, 1148, "42000", "The used command is not allowed with this MariaDB version")
	}
	p := append([]byte{mysqlproto.HeaderLocalInfile}, name...)
	if err := s.relayFrame(s.cw, seq, p); err != nil {
		return true, err
	}
	for {
		seq, p, err := s.fromClient()
		if err != nil {
			return true, err
		}
		if err := s.uw.Frame(seq, p); err != nil {
			return true, err
		}
		if len(p) == 0 {
			return false, s.uw.Flush()
		}
	}
}

// passThrough stops reading packets and copies bytes both ways until
// either side closes: for replication streams, which never end in a
// response the relay could wait for.
func (s *session) passThrough() error {
	if err := s.cw.Flush(); err != nil {
		return err
	}
	done := make(chan error, 2)
	go func() { _, err := io.Copy(s.client, s.ur.Raw()); done <- err }()
	go func() { _, err := io.Copy(s.up, s.cr.Raw()); done <- err }()
	err := <-done
	s.client.Close()
	s.up.Close()
	<-done
	return err
}

// errPacket sends the client an ERR packet.
func (s *session) errPacket(seq byte, code uint16, state, msg string) error {
	p := mysqlproto.AppendErr(nil, &mysqlproto.Error{Code: code, SQLState: state, Message: msg})
	return s.relayFrame(s.cw, seq, p)
}

// refuse answers a client the proxy can't connect with an ERR packet in
// place of the greeting, as a server does when it refuses a connection.
func refuse(c net.Conn, msg string) {
	w := mysqlproto.NewWriter(c, 512)
	p := mysqlproto.AppendErr(nil, &mysqlproto.Error{Code: 1105, SQLState: "HY000", Message: msg})
	if w.Frame(0, p) == nil {
		w.Flush()
	}
}

// mentionsS3 reports whether q holds "S3" in any case: every S3 statement
// has that keyword, so a query without it is relayed without being lexed
// (the relay's hot path: most queries).
func mentionsS3(q []byte) bool {
	for i := 0; i+1 < len(q); i++ {
		if q[i+1] == '3' && (q[i] == 's' || q[i] == 'S') {
			return true
		}
	}
	return false
}
