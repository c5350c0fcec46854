package mysqlproto

import (
	"encoding/binary"
	"errors"
	"fmt"
)

var errShort = errors.New("packet too short")

// ReadLenenc reads a length-encoded integer at the start of b and returns
// it and the bytes after it. null reports 0xFB, NULL in a text row.
func ReadLenenc(b []byte) (v uint64, rest []byte, null bool, err error) {
	if len(b) == 0 {
		return 0, nil, false, errShort
	}
	switch c := b[0]; {
	case c < 0xfb:
		return uint64(c), b[1:], false, nil
	case c == 0xfb:
		return 0, b[1:], true, nil
	case c == 0xfc && len(b) >= 3:
		return uint64(binary.LittleEndian.Uint16(b[1:])), b[3:], false, nil
	case c == 0xfd && len(b) >= 4:
		return uint64(b[1]) | uint64(b[2])<<8 | uint64(b[3])<<16, b[4:], false, nil
	case c == 0xfe && len(b) >= 9:
		return binary.LittleEndian.Uint64(b[1:]), b[9:], false, nil
	}
	return 0, nil, false, errShort
}

// AppendLenenc appends v as a length-encoded integer.
func AppendLenenc(b []byte, v uint64) []byte {
	switch {
	case v < 0xfb:
		return append(b, byte(v))
	case v <= 0xffff:
		return append(b, 0xfc, byte(v), byte(v>>8))
	case v <= 0xffffff:
		return append(b, 0xfd, byte(v), byte(v>>8), byte(v>>16))
	}
	return binary.LittleEndian.AppendUint64(append(b, 0xfe), v)
}

// readLenencString reads a length-encoded string.
func readLenencString(b []byte) (s []byte, rest []byte, null bool, err error) {
	n, rest, null, err := ReadLenenc(b)
	if err != nil || null {
		return nil, rest, null, err
	}
	if uint64(len(rest)) < n {
		return nil, nil, false, errShort
	}
	return rest[:n], rest[n:], false, nil
}

// OK is an OK packet, or the OK that ends a result set with
// CLIENT_DEPRECATE_EOF (header 0xFE).
type OK struct {
	AffectedRows uint64
	LastInsertID uint64
	Status       uint16
	Warnings     uint16
	// Info is the human-readable text ("Records: 3  Deleted: 0  Skipped:
	// 0  Warnings: 0" after a LOAD DATA); session-state tracking data, if
	// any, is not read.
	Info string
}

// IsOK reports whether p is an OK packet: header 0x00 and at least the
// 7 bytes of a minimal one.
func IsOK(p []byte) bool { return len(p) >= 7 && p[0] == HeaderOK }

// IsErr reports whether p is an ERR packet.
func IsErr(p []byte) bool { return len(p) > 0 && p[0] == HeaderErr }

// IsEOF reports whether p ends a result set or a list of column
// definitions: an EOF packet, or an OK packet with header 0xFE under
// CLIENT_DEPRECATE_EOF. A row whose first value is 16 MiB or more also
// starts with 0xFE, but its packet is a full one, which this tells apart.
func IsEOF(p []byte) bool { return len(p) > 0 && len(p) < 0xffffff && p[0] == HeaderEOF }

// ParseOK parses an OK packet (header 0x00 or 0xFE).
func ParseOK(p []byte, caps uint64) (OK, error) {
	var ok OK
	if len(p) < 1 || (p[0] != HeaderOK && p[0] != HeaderEOF) {
		return ok, fmt.Errorf("not an OK packet")
	}
	var err error
	b := p[1:]
	if ok.AffectedRows, b, _, err = ReadLenenc(b); err != nil {
		return ok, fmt.Errorf("OK packet: %w", err)
	}
	if ok.LastInsertID, b, _, err = ReadLenenc(b); err != nil {
		return ok, fmt.Errorf("OK packet: %w", err)
	}
	if len(b) < 4 {
		return ok, fmt.Errorf("OK packet: %w", errShort)
	}
	ok.Status, ok.Warnings = binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:])
	b = b[4:]
	if caps&ClientSessionTrack != 0 {
		if len(b) > 0 {
			if info, _, _, err := readLenencString(b); err == nil {
				ok.Info = string(info)
			}
		}
	} else {
		ok.Info = string(b)
	}
	return ok, nil
}

// AppendOK appends an OK packet's payload, its info as the client's
// capabilities want it, with no session-state data.
func AppendOK(b []byte, ok OK, caps uint64) []byte {
	b = append(b, HeaderOK)
	b = AppendLenenc(b, ok.AffectedRows)
	b = AppendLenenc(b, ok.LastInsertID)
	b = binary.LittleEndian.AppendUint16(b, ok.Status&^StatusSessionStateChange)
	b = binary.LittleEndian.AppendUint16(b, ok.Warnings)
	if caps&ClientSessionTrack != 0 {
		if ok.Info != "" {
			b = AppendLenenc(b, uint64(len(ok.Info)))
			b = append(b, ok.Info...)
		}
		return b
	}
	return append(b, ok.Info...)
}

// EOF is an EOF packet's content.
type EOF struct {
	Warnings uint16
	Status   uint16
}

// ParseEOF parses an EOF packet.
func ParseEOF(p []byte) (EOF, error) {
	if len(p) < 5 || p[0] != HeaderEOF {
		return EOF{}, fmt.Errorf("not an EOF packet")
	}
	return EOF{Warnings: binary.LittleEndian.Uint16(p[1:]), Status: binary.LittleEndian.Uint16(p[3:])}, nil
}

// Status returns the server status flags a response's last packet
// carries: an OK, an EOF or an OK ending a result set; ok is false for
// any other packet.
func Status(p []byte, caps uint64) (uint16, bool) {
	switch {
	case len(p) == 5 && p[0] == HeaderEOF:
		return binary.LittleEndian.Uint16(p[3:]), true
	case IsOK(p) || IsEOF(p):
		o, err := ParseOK(p, caps)
		return o.Status, err == nil
	}
	return 0, false
}

// Error is an ERR packet: the server's error, or one the proxy makes in
// the same form.
type Error struct {
	Code     uint16
	SQLState string // five characters
	Message  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("Error %d (%s): %s", e.Code, e.SQLState, e.Message)
}

// ParseErr parses an ERR packet (protocol 4.1: with a SQL state).
func ParseErr(p []byte) (*Error, error) {
	if len(p) < 3 || p[0] != HeaderErr {
		return nil, fmt.Errorf("not an ERR packet")
	}
	e := &Error{Code: binary.LittleEndian.Uint16(p[1:])}
	b := p[3:]
	if len(b) >= 6 && b[0] == '#' {
		e.SQLState, b = string(b[1:6]), b[6:]
	}
	e.Message = string(b)
	return e, nil
}

// AppendErr appends e as an ERR packet's payload.
func AppendErr(b []byte, e *Error) []byte {
	b = append(b, HeaderErr)
	b = binary.LittleEndian.AppendUint16(b, e.Code)
	state := e.SQLState
	if len(state) != 5 {
		state = "HY000"
	}
	b = append(b, '#')
	b = append(b, state...)
	return append(b, e.Message...)
}

// IsProgress reports a MariaDB progress report: an ERR-headed packet with
// code 0xFFFF, sent in the middle of a long statement to clients that
// asked for them (MARIADB_CLIENT_PROGRESS).
func IsProgress(p []byte) bool {
	return len(p) >= 3 && p[0] == HeaderErr && p[1] == 0xff && p[2] == 0xff
}
