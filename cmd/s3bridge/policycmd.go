package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/policy"
	"github.com/s3bridge/s3bridge/s3store"
)

// runPolicy prints the least-privilege permission policy and the trust
// policy for what an instance (or the flags) says it does, as one JSON
// document security can review; "policy simulate" evaluates a request.
func runPolicy(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "simulate" {
		return runSimulate(ctx, e, args[1:])
	}
	var (
		c                  common
		prefixes           multi
		feature, bucket    string
		kms                bool
		only, srcARN, acct string
		principal          string
	)
	fs := newFlags("policy", e, &c, withJSON)
	fs.StringVar(&feature, "feature", "", "S3_INTEGRATION, S3_INTEGRATION_UPLOAD, S3_INTEGRATION_DOWNLOAD, LOAD or EXPORT (comma-separated for several)")
	fs.StringVar(&bucket, "bucket", "", "the bucket the feature uses")
	fs.Var(&prefixes, "prefix", "key prefix in use (repeatable; none means the whole bucket)")
	fs.BoolVar(&kms, "kms", false, "the bucket uses SSE-KMS")
	fs.StringVar(&only, "only", "", "print only the permission policy (policy) or the trust policy (trust); "+
		"attach --policy and policy simulate --policy take the whole output too (they use its PolicyDocument)")
	fs.StringVar(&principal, "trust-principal", "", "the IAM user or role the agent runs as, which the trust policy lets assume the role "+
		"(default: the caller, from STS GetCallerIdentity with this process's AWS credentials)")
	fs.StringVar(&srcARN, "source-arn", "", "aws:SourceArn the trust policy requires (AWS sets it only for service principals: "+
		"for S3-compatible servers whose STS does)")
	fs.StringVar(&acct, "account", "", "aws:SourceAccount the trust policy requires (as --source-arn)")
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	if only != "" && only != "policy" && only != "trust" {
		return usageErrorf("policy", "--only %q: want policy or trust", only)
	}
	var grants []s3bridge.Grant
	if feature != "" || bucket != "" {
		if feature == "" || bucket == "" {
			return usageErrorf("policy", "--feature and --bucket go together")
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
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(grants) == 0 && only != "trust" {
		return usageErrorf("policy", "nothing to grant: pass --feature F --bucket B, or --db URL of an instance attached with --bucket")
	}
	needs, err := policy.Needs(grants)
	if err != nil {
		return err
	}
	out := map[string]policy.Document{"PolicyDocument": policy.Generate(needs)}
	if only != "policy" {
		if principal == "" {
			if principal, err = callerPrincipal(ctx, e); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "trust policy principal: %s, the caller (STS GetCallerIdentity); --trust-principal names another\n", principal)
		}
		out["AssumeRolePolicyDocument"] = policy.TrustPolicyFor(policy.Principal{"AWS": {principal}}, srcARN, acct)
	}
	var v any = out
	switch only {
	case "policy":
		v = out["PolicyDocument"]
	case "trust":
		v = out["AssumeRolePolicyDocument"]
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// callerPrincipal asks STS who this process's AWS credentials are, for the
// trust policy's principal: the IAM user, or the role of an assumed-role
// session (STS names the session; a trust policy names the role).
func callerPrincipal(ctx context.Context, e *env) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	arn, err := s3store.CallerARN(ctx, newStores(e.getenv, nil).base)
	if err != nil {
		return "", fmt.Errorf("policy: the trust policy needs the principal the agent runs as: pass --trust-principal ARN, or --only policy (asking STS GetCallerIdentity for the caller failed: %w)", err)
	}
	return policy.RoleOfSession(arn), nil
}

// simulateResult is policy simulate --json.
type simulateResult struct {
	Decision  policy.Decision `json:"decision"`
	Action    string          `json:"action"`
	Resource  string          `json:"resource"`
	Statement string          `json:"statement,omitempty"`
	Policy    string          `json:"policy,omitempty"`
	Policies  []string        `json:"policies"`
	Detail    string          `json:"detail"`
}

// runSimulate is aws iam simulate-custom-policy for s3bridge's evaluator:
// the decision is the first word printed, and the exit status tells it to
// scripts: 0 allowed, 1 denied, 2 for a usage or any other error.
func runSimulate(_ context.Context, e *env, args []string) error {
	res, err := simulate(e, args)
	if err != nil {
		if exitCode(err) == exitFailed {
			err = &exitError{code: exitUsage, err: err}
		}
		return err
	}
	if res.Allowed() {
		return nil
	}
	return &exitError{code: exitFailed}
}

func simulate(e *env, args []string) (policy.Result, error) {
	var (
		files, ctxKV     multi
		action, resource string
		asJSON           bool
	)
	fs := newFlagSet("policy simulate", e)
	fs.Var(&files, "policy", "policy document file (repeatable); the output of s3bridge policy is accepted too (its PolicyDocument is used)")
	fs.StringVar(&action, "action", "", "the action, e.g. s3:GetObject")
	fs.StringVar(&resource, "resource", "", "the resource ARN, e.g. arn:aws:s3:::bucket/key")
	fs.Var(&ctxKV, "context", "KEY=VALUE request context, e.g. aws:SourceArn=… (repeatable; repeat a key for several values)")
	fs.BoolVar(&asJSON, "json", false, "print one JSON document: decision, action, resource, statement, policy, policies, detail")
	if _, err := fs.parse(args, 0, 0); err != nil {
		return policy.Result{}, err
	}
	if len(files) == 0 || action == "" || resource == "" {
		return policy.Result{}, usageErrorf("policy simulate", "--policy, --action and --resource are required")
	}
	var docs []policy.NamedDocument
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return policy.Result{}, fmt.Errorf("read policy: %w", err)
		}
		d, _, err := policy.ParsePermissions(f, data)
		if err != nil {
			return policy.Result{}, err
		}
		docs = append(docs, policy.NamedDocument{Name: f, Document: d})
	}
	req := policy.Request{Action: action, Resource: resource, Context: map[string][]string{}}
	for _, kv := range ctxKV {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return policy.Result{}, usageErrorf("policy simulate", "--context %q: want KEY=VALUE", kv)
		}
		req.Context[k] = append(req.Context[k], v)
	}
	res, err := policy.Simulate(docs, req)
	if err != nil {
		return policy.Result{}, err
	}
	if asJSON {
		return res, writeJSON(e.stdout, simulateResult{Decision: res.Decision, Action: res.Action, Resource: res.Resource,
			Statement: res.Statement(), Policy: res.Doc, Policies: res.Docs, Detail: res.String()})
	}
	// The decision alone is the first word, as scripts read it.
	d := res.Decision.String()
	fmt.Fprintln(e.stdout, d+strings.TrimPrefix(strings.TrimPrefix(res.String(), d), ":"))
	return res, nil
}
