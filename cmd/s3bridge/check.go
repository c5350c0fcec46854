package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/policy"
	"github.com/s3bridge/s3bridge/s3store"
)

// probe is one permission checked against the real bucket.
type probe struct {
	action, resource string
	s3, instance     string // outcome at the S3 server and under the instance's own policy
	missing          bool
}

func runCheck(ctx context.Context, e *env, args []string) error {
	var c common
	var bucket string
	fs := newFlags("check", e, &c, false)
	fs.StringVar(&bucket, "bucket", "", "check only this bucket (default: every bucket the instance is granted)")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	return withInstance(ctx, &c, func(in instance.Instance) error {
		set, err := in.Settings(ctx)
		if err != nil {
			return err
		}
		return checkInstance(ctx, e, in.Name(), set, bucket)
	})
}

// checkInstance probes every granted bucket and prints what is missing. It
// fails when a permission is missing or a bucket is public.
func checkInstance(ctx context.Context, e *env, name string, set s3bridge.Settings, only string) error {
	grants := set.Grants
	if only != "" {
		grants = nil
		for _, g := range set.Grants {
			if g.Bucket == only {
				grants = append(grants, g)
			}
		}
		if len(grants) == 0 {
			grants = []s3bridge.Grant{{Feature: "S3_INTEGRATION", Bucket: only}}
		}
	}
	if len(grants) == 0 {
		return fmt.Errorf("check: %s has no buckets granted (attach --feature F --bucket B), and no --bucket was given", name)
	}
	st := newStores(e.getenv, nil)
	g, err := guard(set, name)
	if err != nil {
		return err
	}
	bad := 0
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "FEATURE\tACTION\tRESOURCE\tS3\tINSTANCE POLICY")
	for _, gr := range grants {
		client, err := st.client(ctx, set, gr.Feature)
		if err == nil {
			err = client.Credentials(ctx)
		}
		if err != nil {
			return fmt.Errorf("check %s for %s: credentials: %w", gr.Bucket, gr.Feature, err)
		}
		region, rerr := client.BucketRegion(ctx, gr.Bucket)
		if why, perr := client.PublicReason(ctx, gr.Bucket); perr == nil && why != "" {
			fmt.Fprintf(e.stdout, "bucket %s is open to the public: %s; s3bridge refuses it for file transfer\n", gr.Bucket, why)
			bad++
		}
		if rerr == nil {
			fmt.Fprintf(e.stdout, "bucket %s: region %s\n", gr.Bucket, region)
		}
		for _, p := range probes(ctx, client, g, gr) {
			if p.missing {
				bad++
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", gr.Feature, p.action, p.resource, p.s3, p.instance)
		}
	}
	w.Flush()
	if bad > 0 {
		return fmt.Errorf("check: %d problem(s) found", bad)
	}
	fmt.Fprintln(e.stdout, "every probed permission is in place")
	return nil
}

// probes checks each permission the feature needs: at the S3 server with a
// harmless request where one exists (list, put/read/delete of a probe
// object), and under the instance's own policy.
func probes(ctx context.Context, c *s3store.Client, g interface {
	Allow(string, string, map[string][]string) error
}, gr s3bridge.Grant) []probe {
	f, err := policy.ParseFeature(gr.Feature)
	if err != nil {
		return []probe{{action: gr.Feature, s3: err.Error(), missing: true}}
	}
	prefix := ""
	if len(gr.Prefixes) > 0 {
		prefix = gr.Prefixes[0]
	}
	key := prefix + ".s3bridge-check-" + testKeySuffix()
	wrote := false
	var out []probe
	for _, perm := range policy.Required(f, gr.Bucket, gr.Prefixes, gr.KMS) {
		p := probe{action: perm.Action, resource: perm.Resource, s3: "not probed (no harmless request)", instance: "no policy"}
		switch strings.ToLower(perm.Action) {
		case "s3:listbucket":
			_, _, err = c.List(ctx, gr.Bucket, prefix, "/")
			p.s3 = outcome(err)
		case "s3:putobject":
			_, err = c.Upload(ctx, gr.Bucket, key, strings.NewReader("s3bridge check\n"), s3bridge.PutOptions{})
			wrote = err == nil
			p.s3 = outcome(err)
		case "s3:getobject":
			_, err = c.Stat(ctx, gr.Bucket, key)
			if !wrote && errors.Is(err, s3bridge.ErrNotFound) {
				err = nil // allowed to look; nothing there to read
			}
			p.s3 = outcome(err)
		}
		p.missing = strings.HasPrefix(p.s3, "DENIED")
		if g != nil {
			if err := g.Allow(perm.Action, probeResource(perm.Resource, key, gr.Bucket), nil); err != nil {
				p.instance, p.missing = "DENIED: "+err.Error(), true
			} else {
				p.instance = "allowed"
			}
		}
		out = append(out, p)
	}
	if wrote {
		if err := c.Delete(ctx, gr.Bucket, key); err != nil {
			out = append(out, probe{action: "s3:DeleteObject", resource: s3bridge.Location{Bucket: gr.Bucket, Key: key}.ARN(), s3: "probe object left behind: " + outcome(err), instance: "-"})
		}
	}
	return out
}

// probeResource turns a policy resource pattern into a concrete ARN.
func probeResource(pattern, key, bucket string) string {
	if strings.HasSuffix(pattern, "*") && strings.Contains(pattern, "/") {
		return s3bridge.Location{Bucket: bucket, Key: key}.ARN()
	}
	return pattern
}

func outcome(err error) string {
	switch {
	case err == nil:
		return "allowed"
	case errors.Is(err, s3bridge.ErrAccessDenied):
		return "DENIED by the S3 server"
	}
	return "error: " + err.Error()
}

func testKeySuffix() string { return strconv.FormatInt(time.Now().UnixNano(), 36) }
