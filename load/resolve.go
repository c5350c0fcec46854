package load

import (
	"context"
	"errors"
	"fmt"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"strings"

	"github.com/s3bridge/s3bridge"
)

// resolve lists the files of a load, checking each with the guard before
// any byte moves: one object; every object under a prefix in key order
// (zero-byte objects skipped); or a manifest's entries, where a missing
// mandatory entry fails the load and a missing optional one is logged.
func resolve(ctx context.Context, store ObjectStore, g Guard, p Params, rep s3bridge.Reporter) ([]bulk.File, error) {
	loc, err := s3bridge.ParseURI(p.URI)
	if err != nil {
		return nil, err
	}
	var files []bulk.File
	switch p.Source {
	case SourceFile:
		f, err := stat(ctx, store, g, loc.Bucket, loc.Key)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	case SourcePrefix:
		if err := g.Allow("s3:ListBucket", "arn:aws:s3:::"+loc.Bucket, map[string][]string{"s3:prefix": {loc.Key}}); err != nil {
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
			f := bulk.File{URI: "s3://" + loc.Bucket + "/" + o.Key, Key: o.Key, ETag: o.ETag, Size: o.Size}
			if err := g.Allow("s3:GetObject", objARN(loc.Bucket, o.Key), nil); err != nil {
				return nil, err
			}
			files = append(files, f)
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

func fromManifest(ctx context.Context, store ObjectStore, g Guard, loc s3bridge.Location, uri string, rep s3bridge.Reporter) ([]bulk.File, error) {
	if err := g.Allow("s3:GetObject", objARN(loc.Bucket, loc.Key), nil); err != nil {
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
	var files []bulk.File
	for i, e := range m.Entries {
		el, err := s3bridge.ParseURI(e.URL)
		if err != nil {
			return nil, fmt.Errorf("manifest %s entry %d: %w", uri, i+1, err)
		}
		f, err := stat(ctx, store, g, el.Bucket, el.Key)
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

func stat(ctx context.Context, store ObjectStore, g Guard, bucket, key string) (bulk.File, error) {
	if err := g.Allow("s3:GetObject", objARN(bucket, key), nil); err != nil {
		return bulk.File{}, err
	}
	f := bulk.File{URI: "s3://" + bucket + "/" + key, Key: key}
	o, err := store.Stat(ctx, bucket, key)
	if err != nil {
		return f, byServer("s3:GetObject", f, err)
	}
	f.ETag, f.Size = o.ETag, o.Size
	return f, nil
}

func objARN(bucket, key string) string { return "arn:aws:s3:::" + bucket + "/" + key }

func bucketOf(uri string) string {
	rest := strings.TrimPrefix(uri, "s3://")
	b, _, _ := strings.Cut(rest, "/")
	return b
}
