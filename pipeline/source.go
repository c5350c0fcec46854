package pipeline

import "errors"

// Table names a table by schema and name (for MariaDB, the schema is the
// table's database).
type Table struct{ Schema, Name string }

// String returns "schema.name", the key checkpoints and requests use.
func (t Table) String() string { return t.Schema + "." + t.Name }

// Problem is a source's prerequisite that is not met, with how to fix it
// (each source's Check lists them).
type Problem struct {
	// Blocking is true when the pipeline cannot run (or the source would
	// reject writes) until it is fixed; false for a warning about what the
	// files or the pipeline's recovery will lack (or, for MariaDB's binary
	// log retention, a fact to know).
	Blocking bool
	// Table names the table concerned, if any.
	Table *Table
	What  string
	Fix   string
}

func (p Problem) String() string { return p.What + " — fix: " + p.Fix }

// Publication says which tables a pipeline captures.
type Publication struct {
	// AllTables captures every table of the source's database, present
	// and future (see each source for what that means on its server).
	AllTables bool
	Tables    []Table // otherwise these
}

// ErrSlotExists means a source's Create found the pipeline's slot already
// there (PostgreSQL; a MariaDB source has no slot and never returns it).
var ErrSlotExists = errors.New("replication slot already exists")

// Chunking is how a source cuts one table's snapshot into chunks that
// sessions copy in parallel. Each source fills in its own fields:
// PostgreSQL cuts by pages (Pages per chunk), MariaDB by ranges of a key
// (Key's columns, Chunks-1 Bounds). It is plain data, JSON-encodable, for
// the checkpoint of a snapshot in progress.
type Chunking struct {
	Chunks int `json:"chunks"`
	// Pages is PostgreSQL's pages per chunk: chunk i holds pages
	// [i×Pages, (i+1)×Pages), the last one every page after.
	Pages int64 `json:"pages_per_chunk,omitempty"`
	// Key names MariaDB's chunk key columns, in the key's order.
	Key []string `json:"key,omitempty"`
	// Bounds are MariaDB's Chunks-1 growing key values, one value per Key
	// column in the server's text form.
	Bounds [][][]byte `json:"bounds,omitempty"`
}
