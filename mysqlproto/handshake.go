package mysqlproto

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Handshake is the server's greeting (Handshake v10), with the offsets a
// relay needs to change its capabilities without re-encoding the rest.
type Handshake struct {
	ServerVersion string
	ConnectionID  uint32
	Capabilities  uint64 // MariaDB's extended capabilities in the high half
	Charset       byte
	Status        uint16
	AuthPlugin    string
	// AuthData is the scramble (20 bytes from MariaDB and MySQL) the
	// client's auth plugin answers; a copy, valid after p changes.
	AuthData []byte

	lowAt, highAt, extAt int // offsets of the capability fields; extAt is -1 when absent
}

// ParseHandshake parses a Handshake v10 payload. A greeting that is an
// ERR packet (too many connections, a blocked host) is returned as
// *Error.
func ParseHandshake(p []byte) (*Handshake, error) {
	if IsErr(p) {
		e, err := ParseErr(p)
		if err != nil {
			return nil, err
		}
		return nil, e
	}
	if len(p) < 1 || p[0] != 10 {
		return nil, fmt.Errorf("handshake: protocol version %v, want 10", p[:min(1, len(p))])
	}
	h := &Handshake{extAt: -1}
	end := bytes.IndexByte(p[1:], 0)
	if end < 0 {
		return nil, fmt.Errorf("handshake: %w", errShort)
	}
	h.ServerVersion = string(p[1 : 1+end])
	i := 1 + end + 1
	if len(p) < i+4+8+1+2 {
		return nil, fmt.Errorf("handshake: %w", errShort)
	}
	h.ConnectionID = binary.LittleEndian.Uint32(p[i:])
	h.AuthData = append([]byte(nil), p[i+4:i+12]...)
	i += 4 + 8 + 1 // connection id, auth data part 1, filler
	h.lowAt = i
	h.Capabilities = uint64(binary.LittleEndian.Uint16(p[i:]))
	i += 2
	if len(p) < i+1+2+2+1+10 {
		return h, nil // a pre-4.1 greeting ends here
	}
	h.Charset = p[i]
	h.Status = binary.LittleEndian.Uint16(p[i+1:])
	h.highAt = i + 3
	h.Capabilities |= uint64(binary.LittleEndian.Uint16(p[h.highAt:])) << 16
	authLen := int(p[i+5])
	i += 6 + 6 // charset, status, upper caps, auth length; 6 reserved bytes
	if h.Capabilities&ClientMySQL == 0 {
		h.extAt = i
		h.Capabilities |= uint64(binary.LittleEndian.Uint32(p[i:])) << 32
	}
	i += 4
	if h.Capabilities&ClientSecureConnection != 0 {
		n := max(13, authLen-8)
		if i+n <= len(p) {
			part2 := p[i : i+n]
			if part2[n-1] == 0 {
				part2 = part2[:n-1] // the part ends with a NUL
			}
			h.AuthData = append(h.AuthData, part2...)
		}
		i += n
	}
	if h.Capabilities&ClientPluginAuth != 0 && i <= len(p) {
		name := p[i:]
		if end := bytes.IndexByte(name, 0); end >= 0 {
			name = name[:end]
		}
		h.AuthPlugin = string(name)
	}
	return h, nil
}

// ClearCapabilities clears the flags in mask in the greeting p (as parsed
// into h) and in h: the relay stops a client from asking for what it
// can't pass through.
func (h *Handshake) ClearCapabilities(p []byte, mask uint64) {
	h.SetCapabilities(p, h.Capabilities&^mask)
}

// SetCapabilities writes caps into the greeting p (as parsed into h) and
// into h: a proxy that terminates TLS itself offers CLIENT_SSL whatever
// the server does. MariaDB's extended half is written only where the
// greeting has room for it.
func (h *Handshake) SetCapabilities(p []byte, caps uint64) {
	h.Capabilities = caps
	binary.LittleEndian.PutUint16(p[h.lowAt:], uint16(h.Capabilities))
	if h.highAt > 0 {
		binary.LittleEndian.PutUint16(p[h.highAt:], uint16(h.Capabilities>>16))
	}
	if h.extAt >= 0 {
		binary.LittleEndian.PutUint32(p[h.extAt:], uint32(h.Capabilities>>32))
	}
}

// Response is the client's HandshakeResponse41, or the 32-byte SSL
// request that precedes it when the client asks for TLS.
type Response struct {
	Capabilities uint64
	MaxPacket    uint32
	Charset      byte
	User         string
	Database     string
	AuthPlugin   string
	// SSLRequest: the packet ends after its fixed part; the handshake goes
	// on over TLS.
	SSLRequest bool
}

// responseFixed is the fixed part of a HandshakeResponse41: capabilities,
// max packet size, charset, 19 filler bytes and MariaDB's extended
// capabilities.
const responseFixed = 32

// ParseResponse parses a HandshakeResponse41 (or an SSL request).
func ParseResponse(p []byte) (*Response, error) {
	if len(p) < responseFixed {
		return nil, fmt.Errorf("handshake response: %w (a pre-4.1 client?)", errShort)
	}
	r := &Response{
		Capabilities: uint64(binary.LittleEndian.Uint32(p)),
		MaxPacket:    binary.LittleEndian.Uint32(p[4:]),
		Charset:      p[8],
	}
	if r.Capabilities&ClientProtocol41 == 0 {
		return nil, fmt.Errorf("handshake response: the client does not speak protocol 4.1")
	}
	if r.Capabilities&ClientMySQL == 0 {
		r.Capabilities |= uint64(binary.LittleEndian.Uint32(p[28:])) << 32
	}
	if len(p) == responseFixed {
		r.SSLRequest = true
		return r, nil
	}
	b := p[responseFixed:]
	user, b, ok := cutNul(b)
	if !ok {
		return nil, fmt.Errorf("handshake response: user name: %w", errShort)
	}
	r.User = string(user)
	switch {
	case r.Capabilities&ClientPluginAuthLenencData != 0:
		_, rest, _, err := readLenencString(b)
		if err != nil {
			return nil, fmt.Errorf("handshake response: auth data: %w", err)
		}
		b = rest
	case r.Capabilities&ClientSecureConnection != 0:
		if len(b) < 1 || len(b) < 1+int(b[0]) {
			return nil, fmt.Errorf("handshake response: auth data: %w", errShort)
		}
		b = b[1+int(b[0]):]
	default:
		_, b, _ = cutNul(b)
	}
	if r.Capabilities&ClientConnectWithDB != 0 {
		db, rest, _ := cutNul(b)
		r.Database, b = string(db), rest
	}
	if r.Capabilities&ClientPluginAuth != 0 {
		name, _, _ := cutNul(b)
		r.AuthPlugin = string(name)
	}
	return r, nil
}

// SetCapabilities writes caps into a HandshakeResponse41 (or SSL request)
// payload p: the low half always, MariaDB's extended half when the
// response carries it.
func SetCapabilities(p []byte, caps uint64) error {
	if len(p) < responseFixed {
		return fmt.Errorf("handshake response: %w", errShort)
	}
	binary.LittleEndian.PutUint32(p, uint32(caps))
	if caps&ClientMySQL == 0 {
		binary.LittleEndian.PutUint32(p[28:], uint32(caps>>32))
	}
	return nil
}

func cutNul(b []byte) (before, after []byte, ok bool) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return b, nil, false
	}
	return b[:i], b[i+1:], true
}
