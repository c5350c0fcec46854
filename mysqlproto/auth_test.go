package mysqlproto

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"testing"
)

func TestHandshakeAuthData(t *testing.T) {
	raw, _ := hex.DecodeString(greeting)
	h, err := ParseHandshake(raw[4:])
	if err != nil {
		t.Fatal(err)
	}
	// The captured greeting's scramble: 8 bytes, then 12 and a NUL.
	if got, want := hex.EncodeToString(h.AuthData), "7a42795b3e614f49"+"5d786673323a6e3f2b595f54"; got != want {
		t.Errorf("AuthData %s, want %s", got, want)
	}
}

func TestSSLRequest(t *testing.T) {
	tests := []uint64{
		ClientMySQL | ClientProtocol41 | ClientSecureConnection | ClientPluginAuth,
		ClientProtocol41 | ClientSecureConnection | MariaDBClientStmtBulkOperations, // MariaDB's extended half
	}
	for _, caps := range tests {
		p := AppendSSLRequest(nil, caps, 1<<24, 45)
		r, err := ParseResponse(p)
		if err != nil || !r.SSLRequest || r.Capabilities != caps|ClientSSL || r.MaxPacket != 1<<24 || r.Charset != 45 {
			t.Errorf("caps %#x: %+v, %v", caps, r, err)
		}
	}
}

func TestAuthSwitchAndChangeUser(t *testing.T) {
	plugin, data, ok := ParseAuthSwitch([]byte("\xfecaching_sha2_password\x00abcdefghij0123456789\x00"))
	if !ok || plugin != "caching_sha2_password" || string(data) != "abcdefghij0123456789" {
		t.Errorf("ParseAuthSwitch: %q %q %v", plugin, data, ok)
	}
	if _, _, ok := ParseAuthSwitch([]byte{0x01, 0x04}); ok {
		t.Error("AuthMoreData taken for an auth switch")
	}
	caps := ClientProtocol41 | ClientSecureConnection | ClientPluginAuth
	cu := []byte("\x11ana\x00\x03xyzapp\x00\x2d\x00caching_sha2_password\x00")
	if got := ChangeUserPlugin(cu, caps); got != "caching_sha2_password" {
		t.Errorf("ChangeUserPlugin: %q", got)
	}
	if got := ChangeUserPlugin(cu, caps&^ClientPluginAuth); got != "" {
		t.Errorf("ChangeUserPlugin without CLIENT_PLUGIN_AUTH: %q", got)
	}
	if got := ChangeUserPlugin(cu[:8], caps); got != "" {
		t.Errorf("ChangeUserPlugin of a truncated packet: %q", got)
	}
}

func TestPasswordEncryption(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := AppendPublicKey(nil, &key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(pem)
	if err != nil || !pub.Equal(&key.PublicKey) {
		t.Fatalf("public key round trip: %v", err)
	}
	scramble := []byte("0123456789abcdefghij")
	// Longer than the scramble, so the XOR wraps.
	pw := []byte("a password longer than twenty bytes")
	enc, err := EncryptPassword(pw, scramble, pub)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecryptPassword(enc, scramble, key)
	if err != nil || !bytes.Equal(got, append(pw, 0)) {
		t.Errorf("DecryptPassword: %q, %v", got, err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	if _, err := DecryptPassword(enc, scramble, other); err == nil {
		t.Error("a password encrypted with another key decrypts")
	}
}
