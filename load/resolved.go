package load

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format/compress"
	"github.com/s3bridge/s3bridge/instance/bulk"
)

// Resolved is one object of a load, found as Run finds them.
type Resolved struct {
	bulk.File
	At s3bridge.Location
}

// Resolve lists the objects p names, as Run does for a task, each checked
// with g before any byte moves: one object; every non-empty object under a
// prefix in key order; or a manifest's entries, where a missing mandatory
// entry fails and a missing optional one is logged to rep. For callers
// that feed the objects to the database themselves (s3bridge proxy, which
// runs LOAD DATA LOCAL INFILE on its client's own session).
func Resolve(ctx context.Context, store ObjectStore, g s3bridge.Guard, p Params, rep s3bridge.Reporter) ([]Resolved, error) {
	files, err := resolve(ctx, store, g, p, rep)
	if err != nil {
		return nil, err
	}
	out := make([]Resolved, len(files))
	for i, f := range files {
		out[i] = Resolved{File: f.File, At: f.at}
	}
	return out, nil
}

// OpenResolved opens one resolved object decompressed (gzip, zstd, zip, by
// its name and content), as a load reads it, failing a read past limit
// decompressed bytes (0 means DefaultMaxDecompressed). A zip archive is
// spooled to an unlinked temporary file, never held in memory.
func OpenResolved(ctx context.Context, store ObjectStore, f Resolved, limit int64) (io.ReadCloser, error) {
	limit = cmp.Or(limit, DefaultMaxDecompressed)
	body, _, err := store.Open(ctx, f.At.Bucket, f.At.Key)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", f.URI, s3bridge.ByServer("s3:GetObject", f.At, err))
	}
	data, _, err := compress.Decompress(body, f.Key, "", limit)
	if errors.Is(err, compress.ErrNeedsReaderAt) {
		body.Close()
		if body, _, err = store.Open(ctx, f.At.Bucket, f.At.Key); err != nil {
			return nil, fmt.Errorf("load %s: %w", f.URI, err)
		}
		data, err = spoolZip(body, limit)
		body.Close()
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", f.URI, err)
		}
		return data, nil
	}
	if err != nil {
		body.Close()
		return nil, fmt.Errorf("load %s: %w", f.URI, err)
	}
	return &closeBoth{ReadCloser: data, also: body}, nil
}
