package binlog

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/url"
	"testing"

	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/mysqlproto"
)

// TestScrambles checks the auth answers against published vectors: the
// ed25519 one from MariaDB's plugin/auth_ed25519/ed25519-t.c, the others
// as MySQL clients (go-sql-driver/mysql's tests) compute them.
func TestScrambles(t *testing.T) {
	native := []byte{70, 114, 92, 94, 1, 38, 11, 116, 63, 114, 23, 101, 126, 103, 26, 95, 81, 17, 24, 21}
	sha2 := []byte{10, 47, 74, 111, 75, 73, 34, 48, 88, 76, 114, 74, 37, 13, 3, 80, 82, 2, 23, 21}
	tests := []struct {
		plugin, password string
		scramble         []byte
		want             string
	}{
		{pluginNative, "secret", native, "35b18c9ffbbd7f356dfcac32d3c0f0a41a30cf2d"},
		{pluginNative, "", native, ""},
		{pluginSHA2, "secret", sha2, "f490e76f66d9d86665ce54d98c78d0acfe2fb0b08b423da807144873d30b312c"},
		{pluginSHA2, "secret2", sha2, "abc3934a012cf342e876071c8ee202de51785b430258a7a0138bc79c4d800bc6"},
		{pluginEd25519, "foobar", []byte("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
			"e83dc93f433f33355649ee23aa7592d61a1123090884f58d3063423a24e4305473febba858a2f93923554feea76a44753887ab2f140e854f0fe57ca0b0648a0e"},
	}
	for _, tt := range tests {
		got, err := authResponse(tt.plugin, []byte(tt.password), tt.scramble, false)
		if err != nil || hex.EncodeToString(got) != tt.want {
			t.Errorf("%s %q: %x, %v; want %s", tt.plugin, tt.password, got, err, tt.want)
		}
	}
	// The signature verifies with the public key MariaDB derives.
	msg := []byte("0123456789abcdef0123456789abcdef")
	if !ed25519.Verify(ed25519PublicKey([]byte("pw")), msg, ed25519Password([]byte("pw"), msg)) {
		t.Error("the ed25519 answer does not verify")
	}
	if _, err := authResponse(pluginClearText, []byte("pw"), nil, false); err == nil {
		t.Error("a clear-text password is sent without TLS")
	}
	if _, err := authResponse("dialog", []byte("pw"), nil, true); err == nil {
		t.Error("an unknown plugin is answered")
	}
}

// TestAuthPlugins replicates as users of mysql_native_password and of
// ed25519 (installing MariaDB's auth_ed25519 plugin when it isn't), and
// checks a wrong password is the server's error.
func TestAuthPlugins(t *testing.T) {
	e := newEnv(t, "CREATE TABLE `t` (`id` INT PRIMARY KEY)")
	var ed string
	if err := e.db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'ed25519' AND PLUGIN_STATUS = 'ACTIVE'").Scan(&ed); err != nil {
		t.Fatal(err)
	}
	if ed == "0" {
		e.exec("INSTALL SONAME 'auth_ed25519'")
	}
	for _, via := range []string{"mysql_native_password USING PASSWORD('s3cret ✓')", "ed25519 USING PASSWORD('s3cret ✓')"} {
		user := testenv.Name("u")
		e.exec("CREATE USER '" + user + "'@'%' IDENTIFIED VIA " + via)
		t.Cleanup(func() { e.db.Exec("DROP USER IF EXISTS '" + user + "'@'%'") })
		e.exec("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '" + user + "'@'%'")
		if via[:7] == "ed25519" {
			// The server keeps the public key of the password.
			var pub string
			if err := e.db.QueryRowContext(t.Context(), "SELECT JSON_VALUE(`Priv`, '$.authentication_string') FROM mysql.global_priv WHERE `User` = ?", user).Scan(&pub); err != nil {
				t.Fatal(err)
			}
			if want := base64.RawStdEncoding.EncodeToString(ed25519PublicKey([]byte("s3cret ✓"))); pub != want {
				t.Errorf("ed25519 public key: server %s, ours %s", pub, want)
			}
		}
		u, _ := url.Parse(e.url)
		u.User = url.UserPassword(user, "s3cret ✓")
		src, err := New(u.String(), e.name)
		if err != nil {
			t.Fatal(err)
		}
		st, err := src.Stream(t.Context(), StreamOptions{Include: func(db, _ string) bool { return db == e.name }})
		if err != nil {
			t.Fatalf("%s: %v", via, err)
		}
		e.exec("INSERT INTO `t` VALUES (?)", len(user))
		if got, _ := changes(t, st, 1); got[0].After[0] != int32(len(user)) {
			t.Errorf("%s: change %v", via, got[0].After)
		}
		e.exec("DELETE FROM `t`")
		st.Close(context.Background())

		u.User = url.UserPassword(user, "wrong")
		src, _ = New(u.String(), e.name)
		var se *mysqlproto.Error
		if _, err := src.Current(t.Context()); !errors.As(err, &se) || se.Code != 1045 {
			t.Errorf("%s with a wrong password: %v, want error 1045", via, err)
		}
	}
}
