package policy

import (
	"fmt"
	"strconv"
	"time"

	"github.com/s3bridge/s3bridge"
)

// Guard decides, before a task moves any byte, whether an instance may
// perform an S3 action: s3bridge's own policy evaluation, so an instance can
// be fenced to some buckets and prefixes even on an S3 server without IAM.
type Guard struct {
	docs []NamedDocument
	base map[string][]string
	now  func() time.Time
}

// NewGuard builds the guard for an instance's settings: its attached policy
// document when there is one, else the least-privilege policy generated from
// its grants. It returns nil, and no error, when the instance has neither:
// then only the S3 server's own policies decide. secure tells whether the
// endpoint is https (aws:SecureTransport).
func NewGuard(set s3bridge.Settings, instanceName string, secure bool) (*Guard, error) {
	var docs []NamedDocument
	switch {
	case len(set.Policy) > 0:
		d, err := Parse("attached to "+instanceName, set.Policy)
		if err != nil {
			return nil, err
		}
		docs = []NamedDocument{{Name: "attached to " + instanceName, Document: d}}
	case len(set.Grants) > 0:
		needs, err := Needs(set.Grants)
		if err != nil {
			return nil, err
		}
		docs = []NamedDocument{{Name: "generated from " + instanceName + "'s grants", Document: Generate(needs)}}
	default:
		return nil, nil
	}
	base := map[string][]string{
		"aws:SourceArn":       {set.InstanceARN(instanceName)},
		"aws:SecureTransport": {strconv.FormatBool(secure)},
	}
	if set.Account != "" {
		base["aws:SourceAccount"] = []string{set.Account}
	}
	return &Guard{docs: docs, base: base, now: time.Now}, nil
}

// Needs turns an instance's grants into policy needs.
func Needs(grants []s3bridge.Grant) ([]Need, error) {
	var needs []Need
	for _, g := range grants {
		f, err := ParseFeature(g.Feature)
		if err != nil {
			return nil, err
		}
		needs = append(needs, Need{Feature: f, Bucket: g.Bucket, Prefixes: g.Prefixes, KMS: g.KMS})
	}
	return needs, nil
}

// Allow returns nil when the action on resource is allowed, and otherwise
// an error naming the action, the resource and the deciding statement that
// satisfies errors.Is(err, s3bridge.ErrAccessDenied). cond adds request
// context such as s3:prefix. A nil Guard allows everything.
func (g *Guard) Allow(action, resource string, cond map[string][]string) error {
	if g == nil {
		return nil
	}
	ctx := make(map[string][]string, len(g.base)+len(cond)+2)
	for k, v := range g.base {
		ctx[k] = v
	}
	now := g.now().UTC()
	ctx["aws:CurrentTime"] = []string{now.Format(time.RFC3339)}
	ctx["aws:EpochTime"] = []string{strconv.FormatInt(now.Unix(), 10)}
	for k, v := range cond {
		ctx[k] = v
	}
	res, err := Evaluate(g.docs, Request{Action: action, Resource: resource, Context: ctx})
	if err != nil {
		return fmt.Errorf("%s on %s: %w (%w)", action, resource, err, s3bridge.ErrAccessDenied)
	}
	if derr := res.Err(); derr != nil {
		return fmt.Errorf("%w: %w", derr, s3bridge.ErrAccessDenied)
	}
	return nil
}
