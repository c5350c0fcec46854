package mysqlproto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// greeting is MariaDB 10.11's Handshake v10 as captured on the wire
// (header included): mysql_native_password, extended capabilities 0x1d.
const greeting = "640000000a352e352e352d31302e31312e31392d4d6172696144422d302b6465623132753100650000007a42795b3e614f4900fef72d0200ff81150000000000001d0000005d786673323a6e3f2b595f54006d7973716c5f6e61746976655f70617373776f726400"

func TestHandshakeCaptured(t *testing.T) {
	raw, _ := hex.DecodeString(greeting)
	r := NewReader(bytes.NewReader(raw), 64)
	seq, p, err := r.Frame()
	if err != nil || seq != 0 {
		t.Fatalf("frame: %d %v", seq, err)
	}
	h, err := ParseHandshake(p)
	if err != nil {
		t.Fatal(err)
	}
	if h.ServerVersion != "5.5.5-10.11.19-MariaDB-0+deb12u1" || h.ConnectionID != 101 || h.AuthPlugin != "mysql_native_password" {
		t.Errorf("got %+v", h)
	}
	for _, c := range []uint64{ClientProtocol41, ClientSecureConnection, ClientPluginAuth, ClientDeprecateEOF, MariaDBClientProgress, MariaDBClientStmtBulkOperations} {
		if h.Capabilities&c == 0 {
			t.Errorf("capability %#x missing from %#x", c, h.Capabilities)
		}
	}
	if h.Capabilities&ClientMySQL != 0 {
		t.Errorf("a MariaDB greeting has CLIENT_MYSQL clear")
	}
	orig := append([]byte(nil), p...)
	h.ClearCapabilities(p, ClientDeprecateEOF|MariaDBClientProgress|ClientCompress)
	again, err := ParseHandshake(p)
	if err != nil {
		t.Fatal(err)
	}
	if again.Capabilities != h.Capabilities || again.Capabilities&(ClientDeprecateEOF|MariaDBClientProgress|ClientCompress) != 0 || again.AuthPlugin != h.AuthPlugin {
		t.Errorf("rewritten greeting: %#x (%+v)", again.Capabilities, again)
	}
	if diff := countDiff(orig, p); diff == 0 || diff > 3 {
		t.Errorf("rewriting changed %d bytes; want only capability bytes", diff)
	}
}

func countDiff(a, b []byte) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

func TestResponse(t *testing.T) {
	// A HandshakeResponse41 as go-sql-driver writes it, with a database
	// and the plugin name, and the SSL request form.
	var p []byte
	caps := ClientProtocol41 | ClientSecureConnection | ClientPluginAuth | ClientConnectWithDB | ClientLocalFiles | ClientMySQL
	p = append(p, byte(caps), byte(caps>>8), byte(caps>>16), byte(caps>>24), 0, 0, 0, 1, 45)
	p = append(p, make([]byte, 23)...)
	p = append(p, "ana\x00"...)
	p = append(p, 3, 1, 2, 3)
	p = append(p, "app\x00mysql_native_password\x00"...)
	r, err := ParseResponse(p)
	if err != nil {
		t.Fatal(err)
	}
	if r.User != "ana" || r.Database != "app" || r.AuthPlugin != "mysql_native_password" || r.SSLRequest || r.Capabilities != caps {
		t.Errorf("got %+v", r)
	}
	if err := SetCapabilities(p, caps|ClientDeprecateEOF); err != nil {
		t.Fatal(err)
	}
	if r, _ := ParseResponse(p); r.Capabilities != caps|ClientDeprecateEOF || r.User != "ana" {
		t.Errorf("after SetCapabilities: %+v", r)
	}
	if r, err := ParseResponse(p[:32]); err != nil || !r.SSLRequest {
		t.Errorf("SSL request: %+v %v", r, err)
	}
}

func TestFramesAndContinuation(t *testing.T) {
	tests := []int{0, 1, MaxPayload - 1, MaxPayload, MaxPayload + 1, 2*MaxPayload + 5}
	for _, n := range tests {
		var buf bytes.Buffer
		w := NewWriter(&buf, 4096)
		payload := bytes.Repeat([]byte{'x'}, n)
		next, err := w.Packet(3, payload)
		if err != nil || w.Flush() != nil {
			t.Fatal(err)
		}
		frames := n/MaxPayload + 1
		if want := byte(3 + frames); next != want {
			t.Errorf("%d bytes: next seq %d, want %d", n, next, want)
		}
		if got, want := buf.Len(), n+4*frames; got != want {
			t.Errorf("%d bytes: %d on the wire, want %d", n, got, want)
		}
		seq, got, err := NewReader(&buf, 4096).Packet(1 << 30)
		if err != nil || len(got) != n || seq != byte(3+frames-1) {
			t.Errorf("%d bytes: read back %d bytes, seq %d, %v", n, len(got), seq, err)
		}
	}
	if _, _, err := NewReader(bytes.NewReader([]byte{5, 0, 0, 0, 'a'}), 16).Frame(); err == nil {
		t.Error("a truncated frame reads without error")
	}
}

func TestOKErrEOF(t *testing.T) {
	// Captured: the OK after LOAD DATA of 3 rows, autocommit.
	ok, err := ParseOK([]byte("\x00\x03\x00\x02\x00\x00\x00Records: 3  Deleted: 0  Skipped: 0  Warnings: 0"), 0)
	if err != nil || ok.AffectedRows != 3 || ok.Status != StatusAutocommit || ok.Info != "Records: 3  Deleted: 0  Skipped: 0  Warnings: 0" {
		t.Errorf("ParseOK: %+v %v", ok, err)
	}
	for _, caps := range []uint64{0, ClientSessionTrack} {
		want := OK{AffectedRows: 300, LastInsertID: 70000, Status: StatusInTrans, Warnings: 2, Info: "hi"}
		got, err := ParseOK(AppendOK(nil, want, caps), caps)
		if err != nil || got != want {
			t.Errorf("caps %#x: round trip %+v, want %+v (%v)", caps, got, want, err)
		}
	}
	e, err := ParseErr([]byte("\xff\x7a\x04#42S02Table 'db.nosuch' doesn't exist"))
	if err != nil || e.Code != 1146 || e.SQLState != "42S02" || e.Message != "Table 'db.nosuch' doesn't exist" {
		t.Errorf("ParseErr: %+v %v", e, err)
	}
	back, _ := ParseErr(AppendErr(nil, e))
	if *back != *e {
		t.Errorf("ERR round trip: %+v", back)
	}
	eof := []byte{0xfe, 0, 0, 0x0a, 0}
	if st, ok := Status(eof, 0); !ok || st != StatusAutocommit|StatusMoreResultsExist {
		t.Errorf("EOF status %#x %v", st, ok)
	}
	if !IsEOF(eof) || IsEOF(make([]byte, MaxPayload)) {
		t.Error("IsEOF")
	}
	greetErr := []byte("\xff\x10\x04Too many connections")
	if _, err := ParseHandshake(greetErr); !errors.As(err, new(*Error)) {
		t.Errorf("greeting ERR: %v", err)
	}
}

func TestTextRowAndColumn(t *testing.T) {
	row := []byte("\x01a\xfb\x00")
	vals, err := TextRow(nil, row, 3)
	if err != nil || string(vals[0]) != "a" || vals[1] != nil || vals[2] == nil || len(vals[2]) != 0 {
		t.Errorf("TextRow: %q %v", vals, err)
	}
	if _, err := TextRow(nil, row, 2); err == nil {
		t.Error("extra bytes after the values are not reported")
	}
	// Captured: the definition of `id` INT UNSIGNED of db.t.
	def := []byte("\x03def\x02db\x01t\x01t\x02id\x02id\x0c\x3f\x00\x0a\x00\x00\x00\x03\x21\x00\x00\x00\x00")
	c, err := ParseColumn(def)
	if err != nil || c.Name != "id" || c.Table != "t" || c.Type != TypeLong || c.Flags&FlagUnsigned == 0 || c.Charset != CharsetBinary {
		t.Errorf("ParseColumn: %+v %v", c, err)
	}
	if name, ok := LocalInfile([]byte("\xfbReader::x")); !ok || name != "Reader::x" {
		t.Errorf("LocalInfile: %q", name)
	}
}

func FuzzParsers(f *testing.F) {
	raw, _ := hex.DecodeString(greeting)
	f.Add(raw[4:])
	f.Add([]byte("\x00\x03\x00\x02\x00\x00\x00Records"))
	f.Fuzz(func(t *testing.T, p []byte) {
		ParseHandshake(p)
		ParseResponse(p)
		ParseOK(p, ClientSessionTrack)
		ParseErr(p)
		ParseColumn(p)
		TextRow(nil, p, 3)
		ParseAuthSwitch(p)
		ChangeUserPlugin(p, ClientSecureConnection|ClientPluginAuth)
		ChangeUserPlugin(p, 0)
		ParsePublicKey(p)
		if h, err := ParseHandshake(p); err == nil {
			h.ClearCapabilities(p, ClientSSL)
		}
	})
}
