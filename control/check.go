package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/postgres"
	"github.com/s3bridge/s3bridge/policy"
)

// CheckStore is what check asks of S3, with the credentials and settings
// the instance's agents use for a feature (s3store.Client has it).
type CheckStore interface {
	Credentials(ctx context.Context) error
	BucketRegion(ctx context.Context, bucket string) (string, error)
	PublicReason(ctx context.Context, bucket string) (string, error)
	List(ctx context.Context, bucket, prefix, delimiter string) ([]s3bridge.Object, []string, error)
	Upload(ctx context.Context, bucket, key string, r io.Reader, opts s3bridge.PutOptions) (s3bridge.Object, error)
	Stat(ctx context.Context, bucket, key string) (s3bridge.Object, error)
	Delete(ctx context.Context, bucket, key string) error
}

// Checker probes an instance's buckets as check does. Its functions are
// the process's wiring: the CLI and the server pass their own.
type Checker struct {
	// Open returns the S3 client the instance's tasks of feature use.
	Open func(ctx context.Context, set s3bridge.Settings, feature string) (CheckStore, error)
	// Guard returns the instance's own policy check, nil when it has none.
	Guard func(set s3bridge.Settings, instance string) (s3bridge.Guard, error)
	// Now is the clock that names probe objects; default time.Now.
	Now func() time.Time
}

// Probe is one permission checked against the real bucket.
type Probe struct {
	Feature  string `json:"feature"`
	Action   string `json:"action"`
	Resource string `json:"resource"`
	S3       string `json:"s3"`              // outcome at the S3 server
	Instance string `json:"instance_policy"` // outcome under the instance's own policy
	Missing  bool   `json:"missing"`
}

// BucketCheck is what check found of one granted bucket.
type BucketCheck struct {
	Bucket string `json:"bucket"`
	Region string `json:"region,omitempty"`
	Public string `json:"public,omitempty"` // why it is open to the public
}

// CheckReport is check's finding, and its --json document.
type CheckReport struct {
	Instance string        `json:"instance"`
	OK       bool          `json:"ok"`
	Problems int           `json:"problems"`
	Buckets  []BucketCheck `json:"buckets"`
	Probes   []Probe       `json:"probes"`
	// DatabaseHost is what the s3bridge binary on the database host
	// answered, run by the server as table_import_from_s3 runs it
	// (PostgreSQL only).
	DatabaseHost []HostCheck `json:"database_host,omitempty"`
}

// HostCheck is one bucket as the database host's s3bridge sees it.
type HostCheck struct {
	Bucket  string `json:"bucket"`
	OK      bool   `json:"ok"`
	Outcome string `json:"outcome"`
}

func (c Checker) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// Check is check --db: the instance's buckets (or only that one) probed
// with the agents' credentials, and for PostgreSQL the database host's
// binary asked too.
func (c Checker) Check(ctx context.Context, in instance.Instance, only string) (CheckReport, error) {
	set, err := in.Settings(ctx)
	if err != nil {
		return CheckReport{}, err
	}
	rep, err := c.Probe(ctx, in.Name(), set, only)
	if err != nil {
		return rep, err
	}
	c.probeDatabaseHost(ctx, &rep, in, set, only)
	return rep, nil
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
func (c Checker) probeDatabaseHost(ctx context.Context, r *CheckReport, in instance.Instance, set s3bridge.Settings, only string) {
	pg, ok := in.(*postgres.Instance)
	if !ok {
		return
	}
	for _, t := range hostTargets(set, only) {
		b := t.bucket
		key := t.prefix + "s3bridge-check-" + strconv.FormatInt(c.now().UnixNano(), 36)
		h := HostCheck{Bucket: b}
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

// Probe probes the buckets granted to the instance name with settings
// set, or only that bucket.
func (c Checker) Probe(ctx context.Context, name string, set s3bridge.Settings, only string) (CheckReport, error) {
	rep := CheckReport{Instance: name, Buckets: []BucketCheck{}, Probes: []Probe{}}
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
		return rep, &Invalid{Err: fmt.Errorf("check: %s has no buckets granted (attach --feature F --bucket B), and no --bucket was given", name)}
	}
	g, err := c.Guard(set, name)
	if err != nil {
		return rep, err
	}
	for _, gr := range grants {
		client, err := c.Open(ctx, set, gr.Feature)
		if err == nil {
			err = client.Credentials(ctx)
		}
		if err != nil {
			return rep, fmt.Errorf("check %s for %s: credentials: %w", gr.Bucket, gr.Feature, err)
		}
		b := BucketCheck{Bucket: gr.Bucket}
		b.Region, _ = client.BucketRegion(ctx, gr.Bucket)
		if why, perr := client.PublicReason(ctx, gr.Bucket); perr == nil && why != "" {
			b.Public = why
			rep.Problems++
		}
		rep.Buckets = append(rep.Buckets, b)
		for _, p := range c.probes(ctx, client, g, gr) {
			if p.Missing {
				rep.Problems++
			}
			rep.Probes = append(rep.Probes, p)
		}
	}
	rep.OK = rep.Problems == 0
	return rep, nil
}

// probes checks each permission the feature needs: at the S3 server with a
// harmless request where one exists (list, put/read/delete of a probe
// object), and under the instance's own policy, with the condition keys
// the S3 server sees for that request (s3:prefix and s3:delimiter of the
// listing), so a grant scoped to a prefix passes as it does at S3.
func (c Checker) probes(ctx context.Context, st CheckStore, g s3bridge.Guard, gr s3bridge.Grant) []Probe {
	f, err := policy.ParseFeature(gr.Feature)
	if err != nil {
		return []Probe{{Feature: gr.Feature, Action: gr.Feature, S3: err.Error(), Missing: true}}
	}
	prefix := ""
	if len(gr.Prefixes) > 0 {
		prefix = gr.Prefixes[0]
	}
	key := prefix + ".s3bridge-check-" + strconv.FormatInt(c.now().UnixNano(), 36)
	wrote := false
	var out []Probe
	for _, perm := range policy.Required(f, gr.Bucket, gr.Prefixes, gr.KMS) {
		p := Probe{Feature: gr.Feature, Action: perm.Action, Resource: perm.Resource, S3: "not probed (no harmless request)", Instance: "no policy"}
		var cond map[string][]string
		switch strings.ToLower(perm.Action) {
		case "s3:listbucket":
			_, _, err = st.List(ctx, gr.Bucket, prefix, "/")
			p.S3 = outcome(err)
			cond = listCondition(prefix, "/")
		case "s3:putobject":
			_, err = st.Upload(ctx, gr.Bucket, key, strings.NewReader("s3bridge check\n"), s3bridge.PutOptions{})
			wrote = err == nil
			p.S3 = outcome(err)
		case "s3:getobject":
			_, err = st.Stat(ctx, gr.Bucket, key)
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
		if err := st.Delete(ctx, gr.Bucket, key); err != nil {
			out = append(out, Probe{Feature: gr.Feature, Action: "s3:DeleteObject", Resource: s3bridge.Location{Bucket: gr.Bucket, Key: key}.ARN(),
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
