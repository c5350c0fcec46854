package bulk

import (
	"context"
	"io"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format"
)

// Target is where a load's rows go.
type Target struct {
	TaskID     int64
	Schema     string
	Table      string
	Columns    []string
	Replace    bool
	Duplicates string
	Statement  string
	Options    format.Options
	// SkipBadRows: rows that fail to parse, and rows the database rejects,
	// are skipped and reported through OnBadRow instead of failing.
	SkipBadRows bool
	OnBadRow    func(file string, err error)
	// Claim is the task's claim: Commit completes the task under it in the
	// load's own transaction, so the rows commit only while the claim
	// holds. Zero for a load no task runs.
	Claim s3bridge.Claim
	// Caller is the database account (user@host) that asked for the load
	// from SQL, and CallerRole its active role: the load runs with their
	// privileges, not the agent's. Empty for loads asked for otherwise.
	Caller, CallerRole string
}

// File is one object of a load.
type File struct {
	URI  string // s3://bucket/key
	Key  string
	ETag string
	Size int64
}

// Sink is a database's bulk path; an instance that can take loads has it.
type Sink interface {
	// Begin starts the load's one transaction. With Replace the table's
	// rows are replaced when it commits, and stay visible until then.
	Begin(ctx context.Context, t Target) (Tx, error)
}

// Tx is one load in progress.
type Tx interface {
	// Load streams one file's (decompressed) bytes into the table and
	// returns the rows it loaded. Errors name the file, line and column.
	Load(ctx context.Context, f File, r io.Reader) (int64, error)
	// Record adds a file to the load history, in the same transaction.
	Record(ctx context.Context, h History) error
	// Commit makes every file's rows visible at once. With a Target.Claim
	// it also marks the task SUCCESS with res in the same transaction, or
	// rolls back and returns s3bridge.ErrLeaseLost when another attempt
	// holds the task now: a superseded agent never commits rows.
	Commit(ctx context.Context, res s3bridge.Result) error
	// Rollback leaves the table as it was.
	Rollback(ctx context.Context) error
}

// History is one loaded file, like mysql.aurora_s3_load_history.
type History struct {
	TaskID     int64
	LoadPrefix string
	FileName   string
	ETag       string
	Bytes      int64
	Rows       int64
	At         time.Time
	// Ledger, for a connector's run, is the file's row in the connector
	// ledger: Record writes it with the history row, in the load's
	// transaction, so it commits with the rows and only while the claim
	// holds (Commit's fencing).
	Ledger *LedgerEntry
}

// LedgerEntry is one object a connector loaded: the exactly-once record
// (s3bridge.connector_ledger; s3bridge_connector_ledger on SQLite).
type LedgerEntry struct {
	Connector    string
	Key          string
	ETag         string
	Size         int64
	LastModified time.Time
	TaskID       int64
	// Replaces is the ETag of the connector's row for Key that the run
	// saw when it chose the file (a changed object being reloaded), or ""
	// when it saw none. The row is written only if the ledger still says
	// so: a concurrent run that recorded the key first makes this one fail
	// on the ledger's key instead of loading the file twice.
	Replaces string
}
