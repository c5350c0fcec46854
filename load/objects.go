package load

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/bulk"
)

// Object is one object of a load whose caller listed and chose the
// objects itself (LoadObjects).
type Object struct {
	At           s3bridge.Location
	ETag         string
	Size         int64
	LastModified time.Time
	// LedgerETag is the ETag the connector's ledger had for the key when
	// the caller chose the object ("" for none): see
	// bulk.LedgerEntry.Replaces.
	LedgerETag string
}

// Decoder turns one file's decompressed bytes into the rows the load's
// Options describe (a connector's parser and type conversions). Errors
// surface from the returned reader's Read.
type Decoder func(file string, r io.Reader) io.Reader

// Objects is a load of objects chosen by its caller: a connector's run,
// which lists with its own credentials and keeps its own ledger.
type Objects struct {
	// Store reads the objects.
	Store ObjectStore
	// Params are the table, the Options of what Decode yields (or of the
	// objects themselves without Decode), Replace and SkipBadRows; URI is
	// the history rows' load prefix. Source is not used.
	Params Params
	Files  []Object
	// Ledger names the connector: each file's history row then carries
	// its ledger row (bulk.History.Ledger), so that the ledger commits with
	// the rows, under the task's claim, or not at all.
	Ledger string
	// Decode, when set, is applied to each decompressed file.
	Decode Decoder
	// Now is the clock of the history rows; nil means time.Now.
	Now func() time.Time
}

// LoadObjects loads o's files into sink in one transaction under claim,
// as Run does for the objects it resolves: the same decompression, bulk
// path, history rows, bad-row handling and fenced commit. With no file it
// still commits (a replace then empties the table).
func LoadObjects(ctx context.Context, sink bulk.Sink, claim s3bridge.Claim, o Objects, rep s3bridge.Reporter) (s3bridge.Result, error) {
	if o.Params.Table == "" {
		return s3bridge.Result{}, fmt.Errorf("load: a table is required")
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	l := &loader{store: o.Store, p: o.Params, rep: rep, now: now, ledger: o.Ledger, decode: o.Decode}
	files := make([]file, len(o.Files))
	for i, f := range o.Files {
		files[i] = file{File: bulk.File{URI: f.At.String(), Key: f.At.Key, ETag: f.ETag, Size: f.Size}, at: f.At, lastModified: f.LastModified.UTC(), replaces: f.LedgerETag}
		l.total += f.Size
	}
	return l.run(ctx, sink, claim, files)
}
