package binlog

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"

	"filippo.io/edwards25519"
)

// The auth plugins a client answers. mysqlproto reads the server's side
// of the exchange (greeting, auth switch, RSA key); the client's answers
// are here.
const (
	pluginNative    = "mysql_native_password"
	pluginSHA2      = "caching_sha2_password"
	pluginEd25519   = "client_ed25519"
	pluginClearText = "mysql_clear_password"
)

// authResponse is what plugin sends for password given the server's
// scramble.
func authResponse(plugin string, password, scramble []byte, secure bool) ([]byte, error) {
	switch plugin {
	case pluginNative, "":
		return nativePassword(password, scramble), nil
	case pluginSHA2:
		return sha2Password(password, scramble), nil
	case pluginEd25519:
		return ed25519Password(password, scramble), nil
	case pluginClearText:
		if !secure {
			return nil, fmt.Errorf("auth plugin %s sends the password in clear text: use TLS", plugin)
		}
		return append(append([]byte(nil), password...), 0), nil
	}
	return nil, fmt.Errorf("auth plugin %s is not supported (mysql_native_password, caching_sha2_password, client_ed25519 and mysql_clear_password are)", plugin)
}

// nativePassword is mysql_native_password's answer:
// SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))).
func nativePassword(password, scramble []byte) []byte {
	if len(password) == 0 {
		return nil
	}
	scramble = scramble[:min(len(scramble), 20)]
	h1 := sha1.Sum(password)
	h2 := sha1.Sum(h1[:])
	h := sha1.New()
	h.Write(scramble)
	h.Write(h2[:])
	out := h.Sum(nil)
	for i := range out {
		out[i] ^= h1[i]
	}
	return out
}

// sha2Password is caching_sha2_password's fast answer:
// SHA256(password) XOR SHA256(SHA256(SHA256(password)) + scramble).
func sha2Password(password, scramble []byte) []byte {
	if len(password) == 0 {
		return nil
	}
	scramble = scramble[:min(len(scramble), 20)]
	h1 := sha256.Sum256(password)
	h2 := sha256.Sum256(h1[:])
	h := sha256.New()
	h.Write(h2[:])
	h.Write(scramble)
	out := h.Sum(nil)
	for i := range out {
		out[i] ^= h1[i]
	}
	return out
}

// ed25519Password is MariaDB's client_ed25519 answer: an Ed25519
// signature of the scramble by the key whose secret is SHA512(password).
// crypto/ed25519 can't make it: its seed must be 32 bytes, where MariaDB
// hashes a password of any length in its place.
func ed25519Password(password, scramble []byte) []byte {
	az := sha512.Sum512(password)
	a, err := edwards25519.NewScalar().SetBytesWithClamping(az[:32])
	if err != nil {
		panic(err) // 32 bytes always clamp
	}
	pub := new(edwards25519.Point).ScalarBaseMult(a).Bytes()
	h := sha512.New()
	h.Write(az[32:])
	h.Write(scramble)
	r, _ := edwards25519.NewScalar().SetUniformBytes(h.Sum(nil)) // 64 bytes: no error
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
	h.Reset()
	h.Write(R)
	h.Write(pub)
	h.Write(scramble)
	k, _ := edwards25519.NewScalar().SetUniformBytes(h.Sum(nil))
	s := edwards25519.NewScalar().MultiplyAdd(k, a, r)
	return append(R, s.Bytes()...)
}

// ed25519PublicKey is the public key MariaDB stores for password (what
// ED25519_PASSWORD() returns, base64-encoded): tests check the signer
// against it.
func ed25519PublicKey(password []byte) []byte {
	az := sha512.Sum512(password)
	a, _ := edwards25519.NewScalar().SetBytesWithClamping(az[:32])
	return new(edwards25519.Point).ScalarBaseMult(a).Bytes()
}
