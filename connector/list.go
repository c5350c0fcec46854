package connector

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/load"
)

// ObjectStore is what a connector needs from S3; *s3store.Client has it.
type ObjectStore = load.ObjectStore

// S3 is what a config's in: resolves to: the endpoint and credentials of
// its bucket. Secrets are tagged json:"-".
type S3 struct {
	Endpoint, Region string
	// Auth is s3store's method: basic, session, anonymous, default or
	// assume_role.
	Auth            string
	AccessKeyID     string
	SecretAccessKey string `json:"-"`
	SessionToken    string `json:"-"`
	Profile         string
	RoleARN         string
	ExternalID      string
	RoleSessionName string
	ProfileFile     string
	RoleDuration    time.Duration
}

// Opener makes an S3 client for a resolved in: section.
type Opener func(ctx context.Context, s S3) (ObjectStore, error)

// S3 resolves the config's endpoint and credentials, secrets included.
func (c Config) S3(e Env) (S3, error) {
	in := c.In
	s := S3{Endpoint: in.Endpoint, Region: in.Region}
	resolve := func(sec Secret) (string, error) { return sec.Resolve(e) }
	var err error
	switch in.method() {
	case "basic", "session":
		s.Auth = in.method()
		if s.AccessKeyID, err = resolve(in.AccessKeyID); err != nil {
			return s, err
		}
		if s.SecretAccessKey, err = resolve(in.SecretAccessKey); err != nil {
			return s, err
		}
		if in.method() == "session" {
			if s.SessionToken, err = resolve(in.SessionToken); err != nil {
				return s, err
			}
		}
	case "env":
		getenv := e.Getenv
		if getenv == nil {
			getenv = func(string) string { return "" }
		}
		s.Auth = "basic"
		s.AccessKeyID = cmpOr(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_ACCESS_KEY"))
		s.SecretAccessKey = cmpOr(getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SECRET_KEY"))
		if s.AccessKeyID == "" || s.SecretAccessKey == "" {
			return s, errors.New("auth_method env: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set in this process")
		}
		if s.SessionToken = getenv("AWS_SESSION_TOKEN"); s.SessionToken != "" {
			s.Auth = "session"
		}
	case "anonymous":
		s.Auth = "anonymous"
	case "profile":
		s.Auth, s.Profile, s.ProfileFile = "default", cmpOr(in.ProfileName, "default"), in.ProfileFile
	case "default":
		s.Auth = "default"
	case "assume_role":
		s.Auth, s.RoleARN, s.ExternalID, s.RoleSessionName = "assume_role", in.roleARN(), in.ExternalID, cmpOr(in.SessionName, "s3bridge")
		s.RoleDuration = time.Duration(in.DurationInSeconds) * time.Second
	}
	return s, nil
}

// candidates lists the objects the config selects, in key order: the
// object at path, or those under path_prefix whose key matches
// path_match_pattern; zero-byte objects are skipped, as Embulk does.
func (c Config) candidates(ctx context.Context, store ObjectStore, g s3bridge.Guard) ([]s3bridge.Object, error) {
	in := c.In
	if g == nil {
		g = s3bridge.AllowAll{}
	}
	if in.Path != "" {
		if err := g.Allow("s3:GetObject", s3bridge.Location{Bucket: in.Bucket, Key: in.Path}.ARN(), nil); err != nil {
			return nil, err
		}
		o, err := store.Stat(ctx, in.Bucket, in.Path)
		if err != nil {
			return nil, fmt.Errorf("stat s3://%s/%s: %w", in.Bucket, in.Path, err)
		}
		if o.Size == 0 {
			return nil, nil
		}
		return []s3bridge.Object{o}, nil
	}
	re, err := regexp.Compile(in.PathMatchPattern)
	if err != nil {
		return nil, fmt.Errorf("in.path_match_pattern: %w", err)
	}
	prefix := ""
	if in.PathPrefix != nil {
		prefix = *in.PathPrefix
	}
	if err := g.Allow("s3:ListBucket", s3bridge.Location{Bucket: in.Bucket}.ARN(), map[string][]string{"s3:prefix": {prefix}}); err != nil {
		return nil, err
	}
	objs, _, err := store.List(ctx, in.Bucket, prefix, "")
	if err != nil {
		return nil, fmt.Errorf("list s3://%s/%s: %w", in.Bucket, prefix, err)
	}
	out := objs[:0]
	for _, o := range objs {
		if o.Size > 0 && re.MatchString(o.Key) {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// afterStart leaves out the objects at or before the starting points
// (last_path, last_modified_time) and says how many it left out.
func (in In) afterStart(objs []s3bridge.Object) ([]s3bridge.Object, int, error) {
	since, err := in.startTime()
	if err != nil || (in.LastPath == "" && since.IsZero()) {
		return objs, 0, err
	}
	out := make([]s3bridge.Object, 0, len(objs))
	for _, o := range objs {
		if !in.started(o, since) {
			out = append(out, o)
		}
	}
	return out, len(objs) - len(out), nil
}

// readable splits the objects a run would load into those it can read
// and the archived ones it skips (skip_glacier_objects), or fails on the
// first archived one, naming it: a GET of it would fail in the middle of
// the load, after other files were read.
func (in In) readable(objs []s3bridge.Object) ([]s3bridge.Object, []string, error) {
	var skipped []string
	out := objs[:0:0]
	for _, o := range objs {
		if !archived(o) {
			out = append(out, o)
			continue
		}
		if !in.SkipGlacierObjects {
			return nil, nil, fmt.Errorf("s3://%s/%s is stored in %s and can't be read without a restore; restore it, or set in.skip_glacier_objects: true to leave such objects out",
				in.Bucket, o.Key, o.StorageClass)
		}
		skipped = append(skipped, o.Key)
	}
	return out, skipped, nil
}

// where names the config's objects for messages.
func (c Config) where() string {
	if c.In.Path != "" {
		return "s3://" + c.In.Bucket + "/" + c.In.Path
	}
	prefix := ""
	if c.In.PathPrefix != nil {
		prefix = *c.In.PathPrefix
	}
	return "s3://" + c.In.Bucket + "/" + prefix
}
