// Package binlog is the MariaDB source of s3bridge's pipelines: a client of
// the MariaDB replication protocol that registers as a replica, reads the
// server's binary log from a GTID position (or a file and offset) and turns
// its row events into pipeline events (pipeline.Event), as pipeline/pgsource
// does for PostgreSQL.
//
// The protocol, from MariaDB's "Replication Protocol" pages: the client
// handshake and authentication (mysql_native_password, client_ed25519,
// caching_sha2_password; packets framed by package mysqlproto), the
// registration variables (@master_binlog_checksum, @mariadb_slave_capability,
// @slave_connect_state, @master_heartbeat_period), COM_REGISTER_SLAVE and
// COM_BINLOG_DUMP, then a stream of events, each an OK-headed packet (events
// of 16 MiB and more span several), with a 19-byte header and, under
// binlog_checksum=CRC32, a checksum that is verified.
//
// Decoding needs binlog_format=ROW and binlog_row_metadata=FULL: the TABLE_MAP
// events then carry the column names, signedness, charsets, ENUM and SET
// labels and primary key, so no row is ever decoded against a definition read
// later from information_schema. See ColumnType.PipelineType for how MariaDB's types map
// to the pipeline's kinds.
//
// It reads no S3 and writes no database: bytes in, pipeline events out.
package binlog
