package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/control"
	"github.com/s3bridge/s3bridge/instance"
)

// checker is check's probing (package control, shared with the server)
// wired to this process's S3 clients and the instance's own policy.
func checker(getenv func(string) string) control.Checker {
	st := newStores(getenv, nil)
	return control.Checker{
		Open: func(ctx context.Context, set s3bridge.Settings, feature string) (control.CheckStore, error) {
			return st.client(ctx, set, feature)
		},
		Guard: guard,
	}
}

func runCheck(ctx context.Context, e *env, args []string) error {
	var c common
	var bucket string
	fs := newFlags("check", e, &c, withJSON)
	fs.StringVar(&bucket, "bucket", "", "check only this bucket (default: every bucket the instance is granted)")
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	return withInstance(ctx, &c, func(in instance.Instance) error {
		rep, err := checker(e.getenv).Check(ctx, in, bucket)
		if err != nil {
			return err
		}
		if c.json {
			err = writeJSON(e.stdout, rep)
		} else {
			err = printCheck(e, rep)
		}
		if err == nil && !rep.OK {
			err = fmt.Errorf("check: %d problem(s) found", rep.Problems)
		}
		return err
	})
}

// checkInstance probes every granted bucket and prints what it found. It
// fails when a permission is missing or a bucket is public.
func checkInstance(ctx context.Context, e *env, name string, set s3bridge.Settings, only string) error {
	rep, err := checker(e.getenv).Probe(ctx, name, set, only)
	if err != nil {
		return err
	}
	if err := printCheck(e, rep); err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("check: %d problem(s) found", rep.Problems)
	}
	return nil
}

func printCheck(e *env, r control.CheckReport) error {
	for _, b := range r.Buckets {
		if b.Public != "" {
			fmt.Fprintf(e.stdout, "bucket %s is open to the public: %s; s3bridge refuses it for file transfer\n", b.Bucket, b.Public)
		}
		if b.Region != "" {
			fmt.Fprintf(e.stdout, "bucket %s: region %s\n", b.Bucket, b.Region)
		}
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "FEATURE\tACTION\tRESOURCE\tS3\tINSTANCE POLICY")
	for _, p := range r.Probes {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Feature, p.Action, p.Resource, p.S3, p.Instance)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, h := range r.DatabaseHost {
		fmt.Fprintf(e.stdout, "table_import_from_s3 from the database host, bucket %s: %s\n", h.Bucket, h.Outcome)
	}
	if r.OK {
		fmt.Fprintln(e.stdout, "every probed permission is in place")
	}
	return nil
}
