package proxy

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"sync"

	"github.com/s3bridge/s3bridge/mysqlproto"
)

// auth relays an authentication exchange (after the handshake response or
// COM_CHANGE_USER) until the server's OK or ERR. Every other server packet
// (an auth switch, a plugin's data, a prompt) awaits the client's answer,
// but caching_sha2_password's "fast auth succeeded", after which the
// server's OK follows. shift is how many sequence ids the client is ahead
// of the server (each side counts the SSL request it saw).
func (s *session) auth(shift byte) (bool, error) {
	for {
		seq, p, err := s.fromServer()
		if err != nil {
			return false, err
		}
		if plugin, data, ok := mysqlproto.ParseAuthSwitch(p); ok {
			s.plugin, s.scramble = plugin, data
		}
		if err := s.cw.Frame(seq+shift, p); err != nil {
			return false, err
		}
		switch {
		case mysqlproto.IsOK(p):
			return true, s.cw.Flush()
		case mysqlproto.IsErr(p):
			return false, s.cw.Flush()
		case isSHA2(p, mysqlproto.SHA2FastAuthOK):
			continue
		}
		fullAuth := s.plugin == mysqlproto.CachingSHA2Password && isSHA2(p, mysqlproto.SHA2PerformFullAuth)
		if err := s.cw.Flush(); err != nil {
			return false, err
		}
		cseq, cp, err := s.cr.Frame()
		if err != nil {
			return false, err
		}
		switch {
		case fullAuth && s.upSecure && !s.clientSecure:
			shift, err = s.passwordToTLS(seq, cseq, cp)
		case fullAuth && s.clientSecure && !s.upSecure:
			shift, err = s.passwordFromTLS(seq, cseq, cp)
		default:
			err = s.relayFrame(s.uw, cseq-shift, cp)
		}
		if errors.Is(err, errAuthRefused) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// errAuthRefused: the server refused the client, which has its ERR.
var errAuthRefused = errors.New("authentication refused")

// isSHA2 reports caching_sha2_password's result packet with status b.
func isSHA2(p []byte, b byte) bool {
	return len(p) == 2 && p[0] == mysqlproto.AuthMoreData && p[1] == b
}

// passwordToTLS stands in for a TLS server towards a plain client in
// caching_sha2_password's full authentication. The server, on TLS, wants
// the password in clear; the client, without TLS, asks for the server's
// RSA key to encrypt it. The proxy gives it a key of its own, decrypts
// the password and sends it to the server over TLS: the client sees two
// packets more than the server. seq is the server's "perform full
// authentication", cseq and cp the client's answer to it; the new shift
// is returned.
func (s *session) passwordToTLS(seq, cseq byte, cp []byte) (byte, error) {
	if len(cp) != 1 || cp[0] != mysqlproto.SHA2RequestPublicKey {
		// A password in clear, or one encrypted with a key the client
		// already had: the server judges.
		return cseq - seq - 1, s.relayFrame(s.uw, seq+1, cp)
	}
	key, err := s.keys.get()
	if err != nil {
		return 0, err
	}
	pub, err := mysqlproto.AppendPublicKey(nil, &key.PublicKey)
	if err != nil {
		return 0, err
	}
	if err := s.relayFrame(s.cw, cseq+1, pub); err != nil {
		return 0, err
	}
	cseq, enc, err := s.cr.Frame()
	if err != nil {
		return 0, err
	}
	pw, err := mysqlproto.DecryptPassword(enc, s.scramble, key)
	if err != nil {
		s.errPacket(cseq+1, 1045, "28000", "s3bridge proxy: caching_sha2_password: "+err.Error())
		return 0, err
	}
	defer clear(pw)
	return cseq - seq - 1, s.relayFrame(s.uw, seq+1, pw)
}

// passwordFromTLS stands in for a TLS client towards a plain server in
// caching_sha2_password's full authentication. The client, on TLS, sends
// its password in clear; the server, without TLS, wants it encrypted with
// its RSA key. The proxy asks the server for the key and sends the
// password encrypted: the server sees two packets more than the client.
func (s *session) passwordFromTLS(seq, cseq byte, cp []byte) (byte, error) {
	if len(cp) == 0 || cp[len(cp)-1] != 0 {
		return cseq - seq - 1, s.relayFrame(s.uw, seq+1, cp) // not a password in clear
	}
	pw := append([]byte(nil), cp[:len(cp)-1]...)
	defer clear(pw)
	if err := s.relayFrame(s.uw, seq+1, []byte{mysqlproto.SHA2RequestPublicKey}); err != nil {
		return 0, err
	}
	kseq, kp, err := s.fromServer()
	if err != nil {
		return 0, err
	}
	if mysqlproto.IsErr(kp) {
		// The server's refusal goes to the client, where its answer was due.
		if err := s.relayFrame(s.cw, cseq+1, kp); err != nil {
			return 0, err
		}
		return 0, errAuthRefused
	}
	key, err := mysqlproto.ParsePublicKey(kp)
	if err != nil {
		s.errPacket(cseq+1, 1045, "28000", "s3bridge proxy: caching_sha2_password: the server's "+err.Error())
		return 0, err
	}
	enc, err := mysqlproto.EncryptPassword(pw, s.scramble, key)
	if err != nil {
		return 0, err
	}
	return cseq - (kseq + 1), s.relayFrame(s.uw, kseq+1, enc)
}

// rsaKey is the proxy's RSA key for caching_sha2_password, made on first
// use (a plain client and a TLS server) and kept for the process.
type rsaKey struct {
	once sync.Once
	key  *rsa.PrivateKey
	err  error
}

func (k *rsaKey) get() (*rsa.PrivateKey, error) {
	k.once.Do(func() {
		k.key, k.err = rsa.GenerateKey(rand.Reader, 2048)
		if k.err != nil {
			k.err = fmt.Errorf("make an RSA key for caching_sha2_password: %w", k.err)
		}
	})
	return k.key, k.err
}
