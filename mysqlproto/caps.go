package mysqlproto

// Capability flags. The low 32 bits are MySQL's; MariaDB sends 32 more
// (its "extended capabilities") when CLIENT_MYSQL (bit 0) is clear,
// which this package keeps in the high half of a uint64.
const (
	ClientMySQL                     uint64 = 1 << 0 // CLIENT_LONG_PASSWORD; clear: a MariaDB peer
	ClientConnectWithDB             uint64 = 1 << 3
	ClientCompress                  uint64 = 1 << 5
	ClientLocalFiles                uint64 = 1 << 7
	ClientProtocol41                uint64 = 1 << 9
	ClientSSL                       uint64 = 1 << 11
	ClientTransactions              uint64 = 1 << 13
	ClientSecureConnection          uint64 = 1 << 15
	ClientMultiStatements           uint64 = 1 << 16
	ClientMultiResults              uint64 = 1 << 17
	ClientPSMultiResults            uint64 = 1 << 18
	ClientPluginAuth                uint64 = 1 << 19
	ClientConnectAttrs              uint64 = 1 << 20
	ClientPluginAuthLenencData      uint64 = 1 << 21
	ClientSessionTrack              uint64 = 1 << 23
	ClientDeprecateEOF              uint64 = 1 << 24
	ClientOptionalResultsetMetadata uint64 = 1 << 25
	ClientZstdCompression           uint64 = 1 << 26
	ClientQueryAttributes           uint64 = 1 << 27
	MariaDBClientProgress           uint64 = 1 << 32
	MariaDBClientComMulti           uint64 = 1 << 33
	MariaDBClientStmtBulkOperations uint64 = 1 << 34
	MariaDBClientExtendedMetadata   uint64 = 1 << 35
	MariaDBClientCacheMetadata      uint64 = 1 << 36
	MariaDBClientBulkUnitResults    uint64 = 1 << 37
)

// Server status flags, in OK and EOF packets.
const (
	StatusInTrans            uint16 = 0x0001
	StatusAutocommit         uint16 = 0x0002
	StatusMoreResultsExist   uint16 = 0x0008
	StatusCursorExists       uint16 = 0x0040
	StatusLastRowSent        uint16 = 0x0080
	StatusSessionStateChange uint16 = 0x4000
)

// Commands: the first byte of a client's request.
const (
	ComQuit             byte = 0x01
	ComInitDB           byte = 0x02
	ComQuery            byte = 0x03
	ComFieldList        byte = 0x04
	ComStatistics       byte = 0x09
	ComProcessKill      byte = 0x0c
	ComPing             byte = 0x0e
	ComChangeUser       byte = 0x11
	ComBinlogDump       byte = 0x12
	ComRegisterSlave    byte = 0x15
	ComStmtPrepare      byte = 0x16
	ComStmtExecute      byte = 0x17
	ComStmtSendLongData byte = 0x18
	ComStmtClose        byte = 0x19
	ComStmtReset        byte = 0x1a
	ComSetOption        byte = 0x1b
	ComStmtFetch        byte = 0x1c
	ComBinlogDumpGTID   byte = 0x1e
	ComResetConnection  byte = 0x1f
	ComStmtBulkExecute  byte = 0xfa
)

// First bytes of server responses.
const (
	HeaderOK          byte = 0x00
	HeaderLocalInfile byte = 0xfb
	HeaderEOF         byte = 0xfe
	HeaderErr         byte = 0xff
)
