package writer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/s3bridge/s3bridge/pipeline"
)

// Layout names a pipeline's objects (issue 10, "Files"):
//
//	P/<database>/<schema>/<table>/changes/<first commit LSN, 16 hex digits><ext>
//	P/<database>/<schema>/<table>/snapshot/<snapshot id>/part-<NNNNN><ext>
//	P/<database>/<schema>/<table>/_schemas/v<N>.avsc
//	P/_pipeline.json
//
// where <ext> is the format's extension (Format.Ext): .avro, .parquet,
// .jsonl, .jsonl.gz or .jsonl.zst. The .avsc describes the records of
// every format.
//
// A change file's key is the commit LSN of its first transaction, so a file
// rewritten after a crash has the same key. One case needs more: a
// transaction that changes a table's shape between two of its changes (an
// ALTER TABLE between two INSERTs) writes that table's changes into two files,
// one per schema version, whose first transaction is the same. The second
// (and any further) one is "<LSN>_v<N><ext>"; as '_' sorts after '.', the
// keys still sort in the order the changes were made.
//
// Names are used as the source spells them, except that '%' and '/' (which
// would add a level to the key) are written %25 and %2F.
type Layout struct {
	// Prefix is the pipeline's key prefix, without a trailing slash;
	// empty for the bucket's root.
	Prefix string
	// Database is the source database's name.
	Database string
	// Ext is the extension of the data files' keys, with its dot
	// (Format.Ext); "" means ".avro". Keys of every extension parse
	// (parseChangeName), whatever Ext is.
	Ext string
}

// dataExts are the extensions of data files, longest first where one
// ends another.
var dataExts = []string{".avro", ".parquet", ".jsonl.gz", ".jsonl.zst", ".jsonl"}

// trimDataExt cuts a data file's extension off name.
func trimDataExt(name string) (string, bool) {
	for _, ext := range dataExts {
		if base, ok := strings.CutSuffix(name, ext); ok {
			return base, true
		}
	}
	return name, false
}

func (l Layout) ext() string {
	if l.Ext == "" {
		return ".avro"
	}
	return l.Ext
}

func escapeName(s string) string {
	return strings.NewReplacer("%", "%25", "/", "%2F").Replace(s)
}

func (l Layout) root() string {
	if l.Prefix == "" {
		return ""
	}
	return strings.TrimSuffix(l.Prefix, "/") + "/"
}

// DatabaseDir returns the prefix of every table's objects, with a trailing slash.
func (l Layout) DatabaseDir() string { return l.root() + escapeName(l.Database) + "/" }

// TableDir returns the prefix of a table's objects, with a trailing slash.
func (l Layout) TableDir(schema, table string) string {
	return l.DatabaseDir() + escapeName(schema) + "/" + escapeName(table) + "/"
}

// ChangesDir returns the prefix of a table's change files.
func (l Layout) ChangesDir(schema, table string) string {
	return l.TableDir(schema, table) + "changes/"
}

// SnapshotDir returns the prefix of one snapshot's parts of a table.
func (l Layout) SnapshotDir(schema, table, id string) string {
	return l.TableDir(schema, table) + "snapshot/" + id + "/"
}

// ChangeKey returns the key of a change file whose first transaction
// committed at first. version is 0 for the usual key, else the schema
// version of a file that starts in the same transaction as the table's
// previous file (see Layout).
func (l Layout) ChangeKey(schema, table string, first pipeline.LSN, version int) string {
	name := first.Hex()
	if version > 0 {
		name += "_v" + strconv.Itoa(version)
	}
	return l.ChangesDir(schema, table) + name + l.ext()
}

// PartKey returns the key of part n (from 0) of a snapshot of a table.
func (l Layout) PartKey(schema, table, id string, n int) string {
	return fmt.Sprintf("%spart-%05d%s", l.SnapshotDir(schema, table, id), n, l.ext())
}

// SchemaKey returns the key of the .avsc of a table's schema version.
func (l Layout) SchemaKey(schema, table string, version int) string {
	return l.TableDir(schema, table) + "_schemas/v" + strconv.Itoa(version) + ".avsc"
}

// ManifestKey returns the key of _pipeline.json.
func (l Layout) ManifestKey() string { return l.root() + "_pipeline.json" }

// changeName is a parsed change file name.
type changeName struct {
	first   pipeline.LSN
	version int // 0 for the usual name
}

// less orders change files the way their changes were made.
func (a changeName) less(b changeName) bool {
	if a.first != b.first {
		return a.first < b.first
	}
	return a.version < b.version
}

// parseChangeName parses the last element of a change file's key, of
// any format.
func parseChangeName(name string) (changeName, bool) {
	base, ok := trimDataExt(name)
	if !ok || len(base) < 16 {
		return changeName{}, false
	}
	lsn, err := strconv.ParseUint(base[:16], 16, 64)
	if err != nil {
		return changeName{}, false
	}
	cn := changeName{first: pipeline.LSN(lsn)}
	if rest := base[16:]; rest != "" {
		v, ok := strings.CutPrefix(rest, "_v")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 1 {
			return changeName{}, false
		}
		cn.version = n
	}
	return cn, true
}

// SnapshotID returns the id of a snapshot taken at lsn (the point streaming
// goes on from): its 16 hex digits, so the ids of successive snapshots sort
// in time.
func SnapshotID(lsn pipeline.LSN) string { return lsn.Hex() }
