package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/policy"
)

// runPolicy prints the least-privilege permission policy and the trust
// policy for what an instance (or the flags) says it does, as one JSON
// document security can review; "policy simulate" evaluates a request.
func runPolicy(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "simulate" {
		return runSimulate(e, args[1:])
	}
	var (
		c                  common
		prefixes           multi
		feature, bucket    string
		kms                bool
		only, srcARN, acct string
	)
	fs := newFlags("policy", e, &c, false)
	fs.StringVar(&feature, "feature", "", "S3_INTEGRATION, S3_INTEGRATION_UPLOAD, S3_INTEGRATION_DOWNLOAD, LOAD or EXPORT (comma-separated for several)")
	fs.StringVar(&bucket, "bucket", "", "the bucket the feature uses")
	fs.Var(&prefixes, "prefix", "key prefix in use (repeatable; none means the whole bucket)")
	fs.BoolVar(&kms, "kms", false, "the bucket uses SSE-KMS")
	fs.StringVar(&only, "only", "", "print only the permission policy (policy) or the trust policy (trust)")
	fs.StringVar(&srcARN, "source-arn", "", "aws:SourceArn the trust policy requires (default: the instance's ARN with --db)")
	fs.StringVar(&acct, "account", "", "aws:SourceAccount the trust policy requires")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	var grants []s3bridge.Grant
	if feature != "" || bucket != "" {
		if feature == "" || bucket == "" {
			return fmt.Errorf("policy: --feature and --bucket go together")
		}
		for _, f := range strings.Split(feature, ",") {
			grants = append(grants, s3bridge.Grant{Feature: strings.TrimSpace(f), Bucket: bucket, Prefixes: prefixes, KMS: kms})
		}
	}
	if c.db != "" {
		err := withInstance(ctx, &c, func(in instance.Instance) error {
			set, err := in.Settings(ctx)
			if err != nil {
				return err
			}
			grants = append(grants, set.Grants...)
			if srcARN == "" {
				srcARN = set.InstanceARN(in.Name())
			}
			if acct == "" {
				acct = set.Account
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(grants) == 0 {
		return fmt.Errorf("policy: nothing to grant: pass --feature F --bucket B, or --db URL of an instance attached with --bucket")
	}
	needs, err := policy.Needs(grants)
	if err != nil {
		return err
	}
	out := map[string]policy.Document{"PolicyDocument": policy.Generate(needs), "AssumeRolePolicyDocument": policy.TrustPolicy(srcARN, acct)}
	var v any = out
	switch only {
	case "":
	case "policy":
		v = out["PolicyDocument"]
	case "trust":
		v = out["AssumeRolePolicyDocument"]
	default:
		return fmt.Errorf("policy: --only %q: want policy or trust", only)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// runSimulate is aws iam simulate-custom-policy for s3bridge's evaluator:
// the decision is the first word printed.
func runSimulate(e *env, args []string) error {
	var (
		c                common
		files, ctxKV     multi
		action, resource string
	)
	fs := newFlags("policy simulate", e, &c, false)
	fs.Var(&files, "policy", "policy document file (repeatable)")
	fs.StringVar(&action, "action", "", "the action, e.g. s3:GetObject")
	fs.StringVar(&resource, "resource", "", "the resource ARN, e.g. arn:aws:s3:::bucket/key")
	fs.Var(&ctxKV, "context", "KEY=VALUE request context, e.g. aws:SourceArn=… (repeatable; repeat a key for several values)")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	if len(files) == 0 || action == "" || resource == "" {
		return fmt.Errorf("policy simulate: --policy, --action and --resource are required")
	}
	var docs []policy.NamedDocument
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read policy: %w", err)
		}
		d, err := policy.Parse(f, data)
		if err != nil {
			return err
		}
		docs = append(docs, policy.NamedDocument{Name: f, Document: d})
	}
	req := policy.Request{Action: action, Resource: resource, Context: map[string][]string{}}
	for _, kv := range ctxKV {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("--context %q: want KEY=VALUE", kv)
		}
		req.Context[k] = append(req.Context[k], v)
	}
	res, err := policy.Simulate(docs, req)
	if err != nil {
		return err
	}
	// The decision alone is the first word, as scripts read it.
	d := res.Decision.String()
	fmt.Fprintln(e.stdout, d+strings.TrimPrefix(strings.TrimPrefix(res.String(), d), ":"))
	return nil
}
