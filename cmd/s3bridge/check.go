package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/postgres"
	"github.com/s3bridge/s3bridge/policy"
	"github.com/s3bridge/s3bridge/s3store"
)

// probe is one permission checked against the real bucket.
type probe struct {
	Feature  string `json:"feature"`
	Action   string `json:"action"`
	Resource string `json:"resource"`
	S3       string `json:"s3"`              // outcome at the S3 server
	Instance string `json:"instance_policy"` // outcome under the instance's own policy
	Missing  bool   `json:"missing"`
}

// bucketCheck is what check found of one granted bucket.
type bucketCheck struct {
	Bucket string `json:"bucket"`
	Region string `json:"region,omitempty"`
	Public string `json:"public,omitempty"` // why it is open to the public
}

// checkReport is check's finding, and its --json document.
type checkReport struct {
	Instance string        `json:"instance"`
	OK       bool          `json:"ok"`
	Problems int           `json:"problems"`
	Buckets  []bucketCheck `json:"buckets"`
	Probes   []probe       `json:"probes"`
	// DatabaseHost is what the s3bridge binary on the database host
	// answered, run by the server as table_import_from_s3 runs it
	// (PostgreSQL only).
	DatabaseHost []hostCheck `json:"database_host,omitempty"`
}

// hostCheck is one bucket as the database host's s3bridge sees it.
type hostCheck struct {
	Bucket  string `json:"bucket"`
	OK      bool   `json:"ok"`
	Outcome string `json:"outcome"`
}

// hostTarget is one bucket, and the prefix to probe under, that check asks
// the database host to read.
type hostTarget struct{ bucket, prefix string }

// hostTargets is what probeDatabaseHost probes: each bucket granted to LOAD,
// or with only, that bucket, granted or not. A bucket named by --bucket is
// probed even without a grant, since the user asked about exactly that
// bucket and table_import_from_s3 may still be pointed at it; skipping it
// reported "every probed permission is in place" without asking the host.
func hostTargets(set s3bridge.Settings, only string) []hostTarget {
	var out []hostTarget
	seen := map[string]bool{}
	for _, g := range set.Grants {
		b := g.Bucket
		if seen[b] || (only != "" && b != only) || (g.Feature != "LOAD" && only == "") {
			continue
		}
		seen[b] = true
		t := hostTarget{bucket: b}
		if len(g.Prefixes) > 0 {
			t.prefix = g.Prefixes[0]
		}
		out = append(out, t)
	}
	if only != "" && !seen[only] {
		out = append(out, hostTarget{bucket: only})
	}
	return out
}

// probeDatabaseHost asks the PostgreSQL server to run its s3bridge binary
// the way table_import_from_s3 does, for an object that doesn't exist in
// each bucket of hostTargets: "not found" means the binary, the endpoint,
// the credentials and the policy all work from there, which the agent's
// own probes can't tell (another user, another environment).
func (r *checkReport) probeDatabaseHost(ctx context.Context, in instance.Instance, set s3bridge.Settings, only string) {
	pg, ok := in.(*postgres.Instance)
	if !ok {
		return
	}
	for _, t := range hostTargets(set, only) {
		b := t.bucket
		key := t.prefix + "s3bridge-check-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		h := hostCheck{Bucket: b}
		var line []byte
		err := pg.DB().QueryRowContext(ctx, "SELECT "+pgx.Identifier{pg.Schema()}.Sanitize()+"._import_probe($1, $2)::text", b, key).Scan(&line)
		var answer struct {
			Error    string `json:"error"`
			SQLState string `json:"sqlstate"`
		}
		switch {
		case err != nil:
			h.Outcome = "could not ask the database server: " + err.Error()
		case json.Unmarshal(line, &answer) != nil:
			h.Outcome = "the binary answered " + string(line)
		case answer.Error == "", answer.SQLState == "58P01":
			h.OK, h.Outcome = true, "reachable: the binary on the database host reads this bucket"
		default:
			h.Outcome = answer.Error
		}
		if !h.OK {
			r.Problems++
			r.OK = false
		}
		r.DatabaseHost = append(r.DatabaseHost, h)
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
		set, err := in.Settings(ctx)
		if err != nil {
			return err
		}
		rep, err := probeInstance(ctx, e, in.Name(), set, bucket)
		if err != nil {
			return err
		}
		rep.probeDatabaseHost(ctx, in, set, bucket)
		if c.json {
			err = writeJSON(e.stdout, rep)
		} else {
			err = rep.print(e)
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
	rep, err := probeInstance(ctx, e, name, set, only)
	if err != nil {
		return err
	}
	if err := rep.print(e); err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("check: %d problem(s) found", rep.Problems)
	}
	return nil
}

// probeInstance probes the buckets granted to the instance, or only.
func probeInstance(ctx context.Context, e *env, name string, set s3bridge.Settings, only string) (checkReport, error) {
	rep := checkReport{Instance: name, Buckets: []bucketCheck{}, Probes: []probe{}}
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
		return rep, fmt.Errorf("check: %s has no buckets granted (attach --feature F --bucket B), and no --bucket was given", name)
	}
	st := newStores(e.getenv, nil)
	g, err := guard(set, name)
	if err != nil {
		return rep, err
	}
	for _, gr := range grants {
		client, err := st.client(ctx, set, gr.Feature)
		if err == nil {
			err = client.Credentials(ctx)
		}
		if err != nil {
			return rep, fmt.Errorf("check %s for %s: credentials: %w", gr.Bucket, gr.Feature, err)
		}
		b := bucketCheck{Bucket: gr.Bucket}
		b.Region, _ = client.BucketRegion(ctx, gr.Bucket)
		if why, perr := client.PublicReason(ctx, gr.Bucket); perr == nil && why != "" {
			b.Public = why
			rep.Problems++
		}
		rep.Buckets = append(rep.Buckets, b)
		for _, p := range probes(ctx, client, g, gr) {
			if p.Missing {
				rep.Problems++
			}
			rep.Probes = append(rep.Probes, p)
		}
	}
	rep.OK = rep.Problems == 0
	return rep, nil
}

func (r checkReport) print(e *env) error {
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

// probes checks each permission the feature needs: at the S3 server with a
// harmless request where one exists (list, put/read/delete of a probe
// object), and under the instance's own policy, with the condition keys
// the S3 server sees for that request (s3:prefix and s3:delimiter of the
// listing), so a grant scoped to a prefix passes as it does at S3.
func probes(ctx context.Context, c *s3store.Client, g interface {
	Allow(string, string, map[string][]string) error
}, gr s3bridge.Grant) []probe {
	f, err := policy.ParseFeature(gr.Feature)
	if err != nil {
		return []probe{{Feature: gr.Feature, Action: gr.Feature, S3: err.Error(), Missing: true}}
	}
	prefix := ""
	if len(gr.Prefixes) > 0 {
		prefix = gr.Prefixes[0]
	}
	key := prefix + ".s3bridge-check-" + testKeySuffix()
	wrote := false
	var out []probe
	for _, perm := range policy.Required(f, gr.Bucket, gr.Prefixes, gr.KMS) {
		p := probe{Feature: gr.Feature, Action: perm.Action, Resource: perm.Resource, S3: "not probed (no harmless request)", Instance: "no policy"}
		var cond map[string][]string
		switch strings.ToLower(perm.Action) {
		case "s3:listbucket":
			_, _, err = c.List(ctx, gr.Bucket, prefix, "/")
			p.S3 = outcome(err)
			cond = listCondition(prefix, "/")
		case "s3:putobject":
			_, err = c.Upload(ctx, gr.Bucket, key, strings.NewReader("s3bridge check\n"), s3bridge.PutOptions{})
			wrote = err == nil
			p.S3 = outcome(err)
		case "s3:getobject":
			_, err = c.Stat(ctx, gr.Bucket, key)
			if !wrote && errors.Is(err, s3bridge.ErrNotFound) {
				err = nil // allowed to look; nothing there to read
			}
			p.S3 = outcome(err)
		}
		p.Missing = strings.HasPrefix(p.S3, "DENIED")
		if g != nil {
			if err := g.Allow(perm.Action, probeResource(perm.Resource, key, gr.Bucket), cond); err != nil {
				p.Instance, p.Missing = "DENIED: "+err.Error(), true
			} else {
				p.Instance = "allowed"
			}
		}
		out = append(out, p)
	}
	if wrote {
		if err := c.Delete(ctx, gr.Bucket, key); err != nil {
			out = append(out, probe{Feature: gr.Feature, Action: "s3:DeleteObject", Resource: s3bridge.Location{Bucket: gr.Bucket, Key: key}.ARN(),
				S3: "probe object left behind: " + outcome(err), Instance: "-"})
		}
	}
	return out
}

// listCondition is the request context S3 gives a ListObjects request with
// this prefix and delimiter: a key only for a parameter that is sent.
func listCondition(prefix, delimiter string) map[string][]string {
	cond := map[string][]string{}
	if prefix != "" {
		cond["s3:prefix"] = []string{prefix}
	}
	if delimiter != "" {
		cond["s3:delimiter"] = []string{delimiter}
	}
	return cond
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
