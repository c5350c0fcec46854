package mysqlproto

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"fmt"
)

// Authentication packets a relay may need to read or write.
const (
	// CachingSHA2Password is MySQL 8's default auth plugin.
	CachingSHA2Password = "caching_sha2_password"
	// AuthMoreData heads a server's plugin data during authentication.
	AuthMoreData byte = 0x01
	// AuthSwitch heads a server's auth switch request.
	AuthSwitch byte = 0xfe
	// caching_sha2_password's exchanges after the client's scramble: the
	// server's results (after AuthMoreData) and the client's request for
	// the server's RSA key, which it sends when the connection is not
	// secure and it has no key.
	SHA2FastAuthOK       byte = 0x03
	SHA2PerformFullAuth  byte = 0x04
	SHA2RequestPublicKey byte = 0x02
)

// AppendSSLRequest appends the SSL request a client sends, in place of its
// handshake response, to start TLS: the fixed part of a
// HandshakeResponse41 with CLIENT_SSL set. Its capabilities, max packet
// size and charset must be those of the response that follows over TLS.
func AppendSSLRequest(b []byte, caps uint64, maxPacket uint32, charset byte) []byte {
	caps |= ClientSSL
	b = binary.LittleEndian.AppendUint32(b, uint32(caps))
	b = binary.LittleEndian.AppendUint32(b, maxPacket)
	b = append(b, charset)
	b = append(b, make([]byte, 19)...)
	if caps&ClientMySQL == 0 {
		return binary.LittleEndian.AppendUint32(b, uint32(caps>>32))
	}
	return binary.LittleEndian.AppendUint32(b, 0)
}

// ParseAuthSwitch parses an auth switch request, which a server sends
// during authentication to name the plugin the client must use and that
// plugin's scramble (its trailing NUL removed). A bare 0xFE (the old
// mysql_old_password switch) has no plugin name.
func ParseAuthSwitch(p []byte) (plugin string, data []byte, ok bool) {
	if len(p) == 0 || p[0] != AuthSwitch {
		return "", nil, false
	}
	name, rest, _ := cutNul(p[1:])
	if n := len(rest); n > 0 && rest[n-1] == 0 {
		rest = rest[:n-1]
	}
	return string(name), append([]byte(nil), rest...), true
}

// ChangeUserPlugin returns the auth plugin a COM_CHANGE_USER names (empty
// when it names none), for a client with capabilities caps.
func ChangeUserPlugin(p []byte, caps uint64) string {
	if len(p) == 0 || p[0] != ComChangeUser {
		return ""
	}
	_, b, ok := cutNul(p[1:]) // user
	if !ok {
		return ""
	}
	if caps&ClientSecureConnection != 0 {
		if len(b) < 1 || len(b) < 1+int(b[0]) {
			return ""
		}
		b = b[1+int(b[0]):]
	} else if _, b, ok = cutNul(b); !ok {
		return ""
	}
	if _, b, ok = cutNul(b); !ok || len(b) < 2 { // database, then the charset
		return ""
	}
	if caps&ClientPluginAuth == 0 {
		return ""
	}
	name, _, _ := cutNul(b[2:])
	return string(name)
}

// xorScramble XORs b in place with the scramble, repeated.
func xorScramble(b, scramble []byte) {
	if len(scramble) == 0 {
		return
	}
	for i := range b {
		b[i] ^= scramble[i%len(scramble)]
	}
}

// EncryptPassword is what caching_sha2_password and sha256_password send
// over a connection that is not secure: the password with its NUL, XORed
// with the scramble and encrypted with the server's RSA key (OAEP, SHA-1).
func EncryptPassword(password, scramble []byte, key *rsa.PublicKey) ([]byte, error) {
	plain := append(append(make([]byte, 0, len(password)+1), password...), 0)
	defer clear(plain)
	xorScramble(plain, scramble)
	out, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, key, plain, nil)
	if err != nil {
		return nil, fmt.Errorf("encrypt the password: %w", err)
	}
	return out, nil
}

// DecryptPassword undoes EncryptPassword with the private key whose
// public half the client was given, and returns the password with its
// NUL, as a client sends it over a secure connection.
func DecryptPassword(ciphertext, scramble []byte, key *rsa.PrivateKey) ([]byte, error) {
	plain, err := rsa.DecryptOAEP(sha1.New(), nil, key, ciphertext, nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt the password: %w", err)
	}
	xorScramble(plain, scramble)
	if len(plain) == 0 || plain[len(plain)-1] != 0 {
		clear(plain)
		return nil, fmt.Errorf("decrypt the password: not a NUL-terminated password (encrypted with another key?)")
	}
	return plain, nil
}

// AppendPublicKey appends the answer to a client's request for the RSA
// key: AuthMoreData and the key in PEM (PKIX), as the server sends it.
func AppendPublicKey(b []byte, key *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode the RSA public key: %w", err)
	}
	return append(append(b, AuthMoreData), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...), nil
}

// ParsePublicKey reads the server's answer to a request for its RSA key.
func ParsePublicKey(p []byte) (*rsa.PublicKey, error) {
	if len(p) == 0 || p[0] != AuthMoreData {
		return nil, fmt.Errorf("RSA public key: unexpected packet %#x", p[:min(1, len(p))])
	}
	block, _ := pem.Decode(bytes.TrimSpace(p[1:]))
	if block == nil {
		return nil, fmt.Errorf("RSA public key: no PEM block")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		if k, err2 := x509.ParsePKCS1PublicKey(block.Bytes); err2 == nil {
			return k, nil
		}
		return nil, fmt.Errorf("RSA public key: %w", err)
	}
	rk, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("RSA public key: a %T", key)
	}
	return rk, nil
}
