// Package mysqlproto reads and writes the MySQL/MariaDB client/server
// protocol at the level a relaying proxy needs: packet framing (a 3-byte
// length and a sequence id, payloads of 16 MiB and more split into
// continuation packets), the server's Handshake v10 and the client's
// HandshakeResponse41 with their capability flags, commands, OK, ERR and
// EOF packets, LOCAL INFILE requests and text result sets (column
// definitions and rows, ended by EOF or, with CLIENT_DEPRECATE_EOF, by an
// OK packet).
//
// It knows no database and no S3: bytes in, typed packets out. Framing
// works on physical packets (Frame) so a relay can pass bytes through
// without joining them; Packet joins continuation packets for the few
// messages that are parsed.
//
// Reference: MariaDB's "Client/Server Protocol" pages and MySQL's
// "Client/Server Protocol" internals documentation.
package mysqlproto
