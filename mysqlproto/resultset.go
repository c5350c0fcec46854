package mysqlproto

import (
	"encoding/binary"
	"fmt"
)

// Column types, as column definitions carry them.
const (
	TypeDecimal    byte = 0x00
	TypeTiny       byte = 0x01
	TypeShort      byte = 0x02
	TypeLong       byte = 0x03
	TypeFloat      byte = 0x04
	TypeDouble     byte = 0x05
	TypeNull       byte = 0x06
	TypeTimestamp  byte = 0x07
	TypeLongLong   byte = 0x08
	TypeInt24      byte = 0x09
	TypeDate       byte = 0x0a
	TypeTime       byte = 0x0b
	TypeDatetime   byte = 0x0c
	TypeYear       byte = 0x0d
	TypeNewDate    byte = 0x0e
	TypeVarchar    byte = 0x0f
	TypeBit        byte = 0x10
	TypeJSON       byte = 0xf5
	TypeNewDecimal byte = 0xf6
	TypeEnum       byte = 0xf7
	TypeSet        byte = 0xf8
	TypeTinyBlob   byte = 0xf9
	TypeMediumBlob byte = 0xfa
	TypeLongBlob   byte = 0xfb
	TypeBlob       byte = 0xfc
	TypeVarString  byte = 0xfd
	TypeString     byte = 0xfe
	TypeGeometry   byte = 0xff
)

// Column flags.
const (
	FlagUnsigned uint16 = 0x0020
	FlagBinary   uint16 = 0x0080
	FlagSet      uint16 = 0x0800
)

// CharsetBinary is the collation id of binary strings.
const CharsetBinary = 63

// Column is a column definition (ColumnDefinition41).
type Column struct {
	Schema, Table, Name string
	Charset             uint16
	Length              uint32
	Type                byte
	Flags               uint16
	Decimals            byte
}

// ParseColumn parses a column definition packet.
func ParseColumn(p []byte) (Column, error) {
	var c Column
	b := p
	var fields [6][]byte // catalog, schema, table, org_table, name, org_name
	for i := range fields {
		s, rest, _, err := readLenencString(b)
		if err != nil {
			return c, fmt.Errorf("column definition: %w", err)
		}
		fields[i], b = s, rest
	}
	c.Schema, c.Table, c.Name = string(fields[1]), string(fields[2]), string(fields[4])
	n, b, _, err := ReadLenenc(b)
	if err != nil || n < 10 || uint64(len(b)) < 10 {
		return c, fmt.Errorf("column definition: fixed fields: %w", errShort)
	}
	c.Charset = binary.LittleEndian.Uint16(b)
	c.Length = binary.LittleEndian.Uint32(b[2:])
	c.Type = b[6]
	c.Flags = binary.LittleEndian.Uint16(b[7:])
	c.Decimals = b[9]
	return c, nil
}

// ColumnCount parses the first packet of a result set.
func ColumnCount(p []byte) (int, error) {
	n, rest, null, err := ReadLenenc(p)
	if err != nil || null || len(rest) > 1 || n == 0 || n > 1<<16 {
		return 0, fmt.Errorf("result set column count: malformed packet")
	}
	return int(n), nil
}

// TextRow splits a text-protocol row into its values, appending them to
// dst (nil for NULL); the values alias p.
func TextRow(dst [][]byte, p []byte, columns int) ([][]byte, error) {
	b := p
	for i := 0; i < columns; i++ {
		v, rest, null, err := readLenencString(b)
		if err != nil {
			return dst, fmt.Errorf("row value %d: %w", i+1, err)
		}
		if null {
			v = nil
		} else if v == nil {
			v = []byte{}
		}
		dst, b = append(dst, v), rest
	}
	if len(b) != 0 {
		return dst, fmt.Errorf("row: %d bytes after %d values", len(b), columns)
	}
	return dst, nil
}

// LocalInfile returns the file name of a LOCAL INFILE request (a 0xFB
// packet answering a LOAD DATA LOCAL INFILE).
func LocalInfile(p []byte) (string, bool) {
	if len(p) == 0 || p[0] != HeaderLocalInfile {
		return "", false
	}
	return string(p[1:]), true
}
