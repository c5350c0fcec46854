package load

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/s3bridge/s3bridge/instance/bulk"

	"github.com/s3bridge/s3bridge"
)

// file is one object of a load: what the sink is told, and where it is,
// in its partition, for the policy's ARNs.
type file struct {
	bulk.File
	at s3bridge.Location
	// lastModified is the listing's and replaces the ledger's ETag, for
	// a connector's ledger (zero elsewhere).
	lastModified time.Time
	replaces     string
}

// resolve lists the files of a load, checking each with the guard before
// any byte moves: one object; every object under a prefix in key order
// (zero-byte objects skipped); or a manifest's entries, where a missing
// mandatory entry fails the load and a missing optional one is logged.
func resolve(ctx context.Context, store ObjectStore, g s3bridge.Guard, p Params, rep s3bridge.Reporter) ([]file, error) {
	loc, err := s3bridge.ParseURI(p.URI)
	if err != nil {
		return nil, err
	}
	var files []file
	switch p.Source {
	case SourceFile:
		f, err := stat(ctx, store, g, loc)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	case SourcePrefix:
		if err := g.Allow("s3:ListBucket", loc.At("").ARN(), map[string][]string{"s3:prefix": {loc.Key}}); err != nil {
			return nil, err
		}
		objs, _, err := store.List(ctx, loc.Bucket, loc.Key, "")
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if o.Size == 0 {
				continue
			}
			at := loc.At(o.Key)
			if err := g.Allow("s3:GetObject", at.ARN(), nil); err != nil {
				return nil, err
			}
			files = append(files, file{File: bulk.File{URI: at.String(), Key: o.Key, ETag: o.ETag, Size: o.Size}, at: at})
		}
	case SourceManifest:
		files, err = fromManifest(ctx, store, g, loc, p.URI, rep)
		if err != nil {
			return nil, err
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("load: no file to load at %s (%s)", p.URI, p.Source)
	}
	return files, nil
}

func fromManifest(ctx context.Context, store ObjectStore, g s3bridge.Guard, loc s3bridge.Location, uri string, rep s3bridge.Reporter) ([]file, error) {
	if err := g.Allow("s3:GetObject", loc.ARN(), nil); err != nil {
		return nil, err
	}
	body, _, err := store.Open(ctx, loc.Bucket, loc.Key)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", uri, err)
	}
	m, err := decodeManifest(body, uri)
	body.Close()
	if err != nil {
		return nil, err
	}
	var files []file
	for i, e := range m.Entries {
		el, err := s3bridge.ParseURI(e.URL)
		if err != nil {
			return nil, fmt.Errorf("manifest %s entry %d: %w", uri, i+1, err)
		}
		f, err := stat(ctx, store, g, el)
		switch {
		case errors.Is(err, s3bridge.ErrNotFound) && !e.Mandatory:
			rep.Logf(s3bridge.LevelWarn, "manifest entry %s is missing (optional: skipped)", e.URL)
			continue
		case errors.Is(err, s3bridge.ErrNotFound):
			return nil, fmt.Errorf("manifest %s: mandatory entry %s is missing: %w", uri, e.URL, err)
		case err != nil:
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

func stat(ctx context.Context, store ObjectStore, g s3bridge.Guard, at s3bridge.Location) (file, error) {
	if err := g.Allow("s3:GetObject", at.ARN(), nil); err != nil {
		return file{}, err
	}
	f := file{File: bulk.File{URI: at.String(), Key: at.Key}, at: at}
	o, err := store.Stat(ctx, at.Bucket, at.Key)
	if err != nil {
		return f, s3bridge.ByServer("s3:GetObject", at, err)
	}
	f.ETag, f.Size = o.ETag, o.Size
	return f, nil
}
