package proxy

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/mysqlproto"
)

// sha2Server plays MySQL 8's side of caching_sha2_password's full
// authentication, as sql/auth/sha2_password.cc does, for the one account
// "ana" with password sha2pw: no MariaDB has this plugin, and the proxy's
// part in it (a client and a server of which only one speaks TLS) needs a
// server that insists on it. On a TLS connection it wants the password in
// clear; otherwise it sends its RSA key on request and wants the password
// encrypted with it. It answers every command with OK.
type sha2Server struct {
	t        *testing.T
	l        net.Listener
	tls      *tls.Config // offered when set
	key      *rsa.PrivateKey
	password chan string // what each login sent, decrypted
}

func startSHA2Server(t *testing.T, cfg *tls.Config) *sha2Server {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sha2Server{t: t, l: l, tls: cfg, key: key, password: make(chan string, 8)}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := s.serve(c); err != nil {
					t.Logf("scripted server: %v", err)
				}
			}()
		}
	}()
	return s
}

func (s *sha2Server) serve(c net.Conn) error {
	scramble := []byte("abcdefghij0123456789")
	caps := mysqlproto.ClientMySQL | mysqlproto.ClientProtocol41 | mysqlproto.ClientSecureConnection |
		mysqlproto.ClientPluginAuth | mysqlproto.ClientConnectWithDB | mysqlproto.ClientTransactions | mysqlproto.ClientPluginAuthLenencData
	if s.tls != nil {
		caps |= mysqlproto.ClientSSL
	}
	g := append([]byte{10}, "8.0.36-scripted\x00"...)
	g = binary.LittleEndian.AppendUint32(g, 7)
	g = append(append(g, scramble[:8]...), 0)
	g = binary.LittleEndian.AppendUint16(g, uint16(caps))
	g = append(g, 45, 2, 0)
	g = binary.LittleEndian.AppendUint16(g, uint16(caps>>16))
	g = append(append(g, 21), make([]byte, 10)...)
	g = append(append(g, scramble[8:]...), 0)
	g = append(g, "caching_sha2_password\x00"...)
	r, w := mysqlproto.NewReader(c, 4096), mysqlproto.NewWriter(c, 4096)
	send := func(seq byte, p []byte) error {
		if err := w.Frame(seq, p); err != nil {
			return err
		}
		return w.Flush()
	}
	if err := send(0, g); err != nil {
		return err
	}
	seq, p, err := r.Frame()
	if err != nil {
		return err
	}
	secure := false
	if len(p) == 32 { // an SSL request
		if s.tls == nil {
			return errors.New("an SSL request, TLS not offered")
		}
		tc := tls.Server(bufferedConn{Conn: c, r: r.Raw()}, s.tls)
		if err := tc.Handshake(); err != nil {
			return err
		}
		r, w, secure = mysqlproto.NewReader(tc, 4096), mysqlproto.NewWriter(tc, 4096), true
		if seq, p, err = r.Frame(); err != nil {
			return err
		}
	}
	resp, err := mysqlproto.ParseResponse(p)
	if err != nil || resp.User != "ana" || resp.AuthPlugin != "caching_sha2_password" {
		return fmt.Errorf("handshake response %+v: %v", resp, err)
	}
	// The cache is empty: full authentication.
	if err := send(seq+1, []byte{mysqlproto.AuthMoreData, mysqlproto.SHA2PerformFullAuth}); err != nil {
		return err
	}
	if seq, p, err = r.Frame(); err != nil {
		return err
	}
	var pw []byte
	switch {
	case secure:
		pw = p
	case len(p) == 1 && p[0] == mysqlproto.SHA2RequestPublicKey:
		key, err := mysqlproto.AppendPublicKey(nil, &s.key.PublicKey)
		if err != nil {
			return err
		}
		if err := send(seq+1, key); err != nil {
			return err
		}
		if seq, p, err = r.Frame(); err != nil {
			return err
		}
		if pw, err = mysqlproto.DecryptPassword(p, scramble, s.key); err != nil {
			pw = nil
		}
	default:
		pw = nil // ciphertext for a key it was never given
	}
	s.password <- string(bytes.TrimSuffix(pw, []byte{0}))
	if string(pw) != "sha2pw\x00" {
		return send(seq+1, mysqlproto.AppendErr(nil, &mysqlproto.Error{Code: 1045, SQLState: "28000", Message: "Access denied for user 'ana'"}))
	}
	if err := send(seq+1, mysqlproto.AppendOK(nil, mysqlproto.OK{Status: mysqlproto.StatusAutocommit}, 0)); err != nil {
		return err
	}
	for {
		_, p, err := r.Frame()
		if err != nil || p[0] == mysqlproto.ComQuit {
			return nil
		}
		if err := send(1, mysqlproto.AppendOK(nil, mysqlproto.OK{Status: mysqlproto.StatusAutocommit}, 0)); err != nil {
			return err
		}
	}
}

// TestCachingSHA2FullAuth: caching_sha2_password's full authentication
// through the proxy, go-sql-driver as the client, when only one hop speaks
// TLS. A plain client asks for an RSA key; the proxy gives its own,
// decrypts and sends the password in clear to the TLS server. A TLS
// client sends its password in clear; the proxy asks the plain server for
// its key and sends it encrypted. A wrong password gets the server's 1045.
func TestCachingSHA2FullAuth(t *testing.T) {
	ca := testenv.NewCA(t, "sha2 test CA")
	serverTLS := &tls.Config{Certificates: []tls.Certificate{ca.Certificate(t, "127.0.0.1")}}
	if err := mysql.RegisterTLSConfig("sha2test", &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mysql.DeregisterTLSConfig("sha2test") })
	m := testenv.S3(t)
	tests := []struct {
		name        string
		serverTLS   bool
		clientTLS   bool
		password    string
		wantRefused bool
	}{
		{"plain client, TLS server", true, false, "sha2pw", false},
		{"plain client, TLS server, wrong password", true, false, "nope", true},
		{"TLS client, plain server", false, true, "sha2pw", false},
		{"TLS on both hops", true, true, "sha2pw", false},
		{"plain on both hops", false, false, "sha2pw", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *sha2Server
			cfg := Config{}
			if tt.serverTLS {
				srv = startSHA2Server(t, serverTLS)
				cfg.UpstreamTLS = &tls.Config{RootCAs: ca.Pool}
			} else {
				srv = startSHA2Server(t, nil)
			}
			cfg.Upstream = srv.l.Addr().String()
			params := "tls=false"
			if tt.clientTLS {
				cfg.TLS = serverTLS
				params = "tls=sha2test"
			}
			addr := startProxy(t, m, cfg)
			db, err := sql.Open("mysql", fmt.Sprintf("ana:%s@tcp(%s)/?%s", tt.password, addr, params))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			err = db.PingContext(t.Context())
			var me *mysql.MySQLError
			switch {
			case tt.wantRefused && (!errors.As(err, &me) || me.Number != 1045):
				t.Errorf("ping: %v, want the server's 1045", err)
			case !tt.wantRefused && err != nil:
				t.Errorf("ping: %v", err)
			}
			if got := <-srv.password; got != tt.password {
				t.Errorf("the server got password %q, want %q", got, tt.password)
			}
		})
	}
}
