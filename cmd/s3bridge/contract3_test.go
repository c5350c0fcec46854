package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/instance/sqlite"
)

// TestPrefixScopedGrant (issue 19 item 4): an instance granted one prefix
// passes check and exports under it without --overwrite: the guard's
// s3:ListBucket check has the s3:prefix the listing sends, as at S3.
func TestPrefixScopedGrant(t *testing.T) {
	w := newCLIWorld(t)
	b := w.bucket
	_, errOut, err := w.run("attach", "--db", w.db, "--area", w.dir, "--endpoint", w.m.Endpoint, "--auth", "basic",
		"--feature", "EXPORT", "--bucket", b, "--prefix", "exports/")
	if err != nil || strings.Contains(errOut, "warning") {
		t.Fatalf("attach: %v\n%s", errorText(err), errOut)
	}
	mustExec(t, w.db, "CREATE TABLE sales (id INTEGER, name TEXT)")
	mustExec(t, w.db, "INSERT INTO sales VALUES (1, 'apple')")
	out, _, err := w.run("check", "--db", w.db)
	if err != nil || !strings.Contains(out, "every probed permission is in place") {
		t.Errorf("check of a prefix-scoped grant: %v\n%s", errorText(err), out)
	}
	export := func(uri string) (string, error) {
		out, _, err := w.run("export", "--db", w.db, "--query", "SELECT * FROM sales", uri)
		return out, err
	}
	if out, err := export("s3://" + b + "/exports/x"); err != nil || !strings.Contains(out, "SUCCESS") {
		t.Errorf("export under the granted prefix: %q, %v", out, errorText(err))
	}
	if _, err := export("s3://" + b + "/exports/x"); err == nil || !strings.Contains(errorText(err), "already exists") {
		t.Errorf("export again without --overwrite: %v, want already exists", errorText(err))
	}
	if _, err := export("s3://" + b + "/other/x"); err == nil || !strings.Contains(errorText(err), "implicitDeny") {
		t.Errorf("export outside the granted prefix: %v, want implicitDeny", errorText(err))
	}
}

// TestPolicyOutputAccepted (issue 19 item 5): what s3bridge policy prints
// is taken by attach --policy and policy simulate --policy, which use its
// PolicyDocument; the trust policy names a principal that exists.
func TestPolicyOutputAccepted(t *testing.T) {
	dir := t.TempDir()
	w := &cliWorld{t: t, vars: map[string]string{}}
	doc := w.must("policy", "--feature", "LOAD", "--bucket", "bkt", "--prefix", "data/", "--trust-principal", "arn:aws:iam::123456789012:role/agent")
	if !strings.Contains(doc, `"AWS": "arn:aws:iam::123456789012:role/agent"`) || strings.Contains(doc, "s3bridge.amazonaws.com") {
		t.Errorf("trust policy principal:\n%s", doc)
	}
	pol := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(pol, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	out := w.must("policy", "simulate", "--policy", pol, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::bkt/data/a.csv")
	if !strings.HasPrefix(out, "allowed") {
		t.Errorf("simulate with policy's output: %s", out)
	}
	db := "sqlite://" + filepath.Join(dir, "app.db")
	w.must("attach", "--db", db, "--area", dir, "--policy", pol)
	in, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	set, err := in.Settings(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s := string(set.Policy); !strings.HasPrefix(s, "{") || strings.Contains(s, "AssumeRolePolicyDocument") || !strings.Contains(s, "s3:GetObject") {
		t.Errorf("stored policy is not the PolicyDocument: %s", s)
	}
	// Without --trust-principal the caller's identity is asked of STS;
	// where STS can't tell, the command says what to pass.
	t.Setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1")
	w.vars = map[string]string{"AWS_ACCESS_KEY_ID": "AKIDX", "AWS_SECRET_ACCESS_KEY": "x", "AWS_MAX_ATTEMPTS": "1"}
	if _, _, err := w.run("policy", "--feature", "LOAD", "--bucket", "bkt"); err == nil || !strings.Contains(errorText(err), "pass --trust-principal ARN, or --only policy") {
		t.Errorf("policy without a principal STS can tell: %v", errorText(err))
	}
	if out := w.must("policy", "--feature", "LOAD", "--bucket", "bkt", "--only", "policy"); !strings.Contains(out, `"Statement"`) {
		t.Errorf("--only policy needs no principal: %s", out)
	}
}
