package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/s3bridge/s3bridge/format/compress"
	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/s3store"
)

// runS3Cat writes an object, decompressed, to stdout: what PostgreSQL's
// table_import_from_s3 runs through COPY … FROM PROGRAM, with every
// argument single-quoted so the shell interpolates nothing. --size prints
// the object's size instead.
func runS3Cat(ctx context.Context, e *env, args []string) error {
	var (
		c                common
		endpoint, region string
		pathStyle, size  bool
		maxDecompressed  int64
	)
	fs := newFlags("s3-cat", e, &c, false)
	fs.StringVar(&endpoint, "endpoint", "", "S3 endpoint URL")
	fs.StringVar(&region, "region", "", "default region")
	fs.BoolVar(&pathStyle, "path-style", false, "force path-style addressing")
	fs.BoolVar(&size, "size", false, "print the object's size in bytes instead of its content")
	fs.Int64Var(&maxDecompressed, "max-decompressed", load.DefaultMaxDecompressed, "cap on the decompressed size")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	loc, err := s3store.ParseURI(pos[0])
	if err != nil {
		return err
	}
	st := newStores(e.getenv, nil)
	cfg := st.base
	cfg.Endpoint, cfg.Region = endpoint, region
	if pathStyle {
		cfg.PathStyle = &pathStyle
	}
	if cfg.AccessKeyID == "" {
		cfg.Auth = s3store.AuthDefault
	}
	client, err := s3store.New(ctx, cfg, nil)
	if err != nil {
		return err
	}
	if size {
		obj, err := client.Stat(ctx, loc.Bucket, loc.Key)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, obj.Size)
		return nil
	}
	body, _, err := client.Open(ctx, loc.Bucket, loc.Key)
	if err != nil {
		return err
	}
	defer body.Close()
	data, _, err := compress.Decompress(body, loc.Key, "", maxDecompressed)
	if errors.Is(err, compress.ErrNeedsReaderAt) {
		return fmt.Errorf("s3-cat %s: zip archives are loaded with s3bridge load, not table_import_from_s3", pos[0])
	}
	if err != nil {
		return err
	}
	defer data.Close()
	w := bufio.NewWriterSize(e.stdout, 1<<20)
	if _, err := io.Copy(w, data); err != nil {
		return fmt.Errorf("s3-cat %s: %w", pos[0], err)
	}
	return w.Flush()
}
