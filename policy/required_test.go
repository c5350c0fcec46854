package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files and the differential corpus in testdata")

func TestRequired(t *testing.T) {
	actions := func(perms []Permission) []string {
		var out []string
		for _, p := range perms {
			if !slices.Contains(out, p.Action) {
				out = append(out, p.Action)
			}
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		feature Feature
		want    []string
	}{
		{FeatureUpload, []string{"s3:PutObject"}},
		{FeatureDownload, []string{"s3:GetObject", "s3:ListBucket"}},
		{FeatureS3Integration, []string{"s3:AbortMultipartUpload", "s3:GetBucketAcl", "s3:GetBucketLocation", "s3:GetObject",
			"s3:ListAllMyBuckets", "s3:ListBucket", "s3:ListMultipartUploadParts", "s3:PutObject"}},
		{FeatureLoad, []string{"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"}},
		{FeatureExport, []string{"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListBucket",
			"s3:ListMultipartUploadParts", "s3:PutObject"}},
	}
	for _, tt := range tests {
		got := actions(Required(tt.feature, "b", nil, false))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.feature, got, tt.want)
		}
		withKMS := actions(Required(tt.feature, "b", nil, true))
		if want := slices.Sorted(slices.Values(append(slices.Clone(tt.want), kmsActions...))); !slices.Equal(withKMS, want) {
			t.Errorf("%s with KMS: got %v, want %v", tt.feature, withKMS, want)
		}
	}
	if got := Required("NOPE", "b", nil, true); got != nil {
		t.Errorf("unknown feature: %v", got)
	}

	got := Required(FeatureDownload, "b", []string{"in/x/", "in/", "a*b/"}, false)
	want := []Permission{
		{Action: "s3:ListBucket", Resource: "arn:aws:s3:::b", Prefixes: []string{"a*b/", "in/"}},
		{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/a${*}b/*"},
		{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/in/*"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("prefixes:\n got %v\nwant %v", got, want)
	}
	key := Need{Feature: FeatureUpload, Bucket: "b", KMS: true, KMSKeyARN: "arn:aws:kms:eu-west-1:1:key/k"}.Permissions()
	if last := key[len(key)-1]; last.Resource != "arn:aws:kms:eu-west-1:1:key/k" {
		t.Errorf("KMS key resource = %v", last)
	}
}

func TestParseFeature(t *testing.T) {
	for _, f := range Features() {
		got, err := ParseFeature(strings.ToLower(string(f)))
		if err != nil || got != f {
			t.Errorf("ParseFeature(%q) = %v, %v", f, got, err)
		}
	}
	if _, err := ParseFeature("S3"); err == nil {
		t.Error("ParseFeature accepted S3")
	}
}

func TestGenerateGolden(t *testing.T) {
	needs := []Need{
		{Feature: FeatureExport, Bucket: "lake.example", Prefixes: []string{"exports/"}, KMS: true, KMSKeyARN: "arn:aws:kms:us-east-1:123456789012:key/abcd"},
		{Feature: FeatureLoad, Bucket: "lake.example", Prefixes: []string{"raw/", "raw/2026/"}},
		{Feature: FeatureS3Integration, Bucket: "dumps", Prefixes: nil},
		{Feature: FeatureDownload, Bucket: "dumps", Prefixes: []string{"oracle/"}},
	}
	doc := Generate(needs)
	if err := doc.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	const golden = "testdata/generate.golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Generate output differs from %s (run with -update after checking):\n%s", golden, got)
	}
	// Stable ordering: the same needs in another order give the same document.
	slices.Reverse(needs)
	again, _ := json.MarshalIndent(Generate(needs), "", "  ")
	if !bytes.Equal(append(again, '\n'), got) {
		t.Errorf("Generate depends on the order of needs:\n%s", again)
	}
}

// s3Actions is the universe the property test probes, beyond what any
// feature needs.
var s3Actions = []string{
	"s3:AbortMultipartUpload", "s3:DeleteBucket", "s3:DeleteObject", "s3:GetBucketAcl", "s3:GetBucketLocation",
	"s3:GetObject", "s3:GetObjectVersion", "s3:ListAllMyBuckets", "s3:ListBucket", "s3:ListMultipartUploadParts",
	"s3:PutBucketPolicy", "s3:PutObject", "s3:PutObjectAcl", "kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt",
}

// probe is one request of the property test and whether some need's
// Required list covers it, worked out with plain string operations (no
// wildcard matcher), so the test does not grade Generate with its own
// machinery.
type probe struct {
	req  Request
	want bool
}

func probesFor(needs []Need, buckets, keys []string) []probe {
	covers := func(action, resource string, listPrefix *string) bool {
		for _, n := range needs {
			bucket := "arn:aws:s3:::" + n.Bucket
			for _, p := range n.Permissions() {
				if !strings.EqualFold(p.Action, action) {
					continue
				}
				under := func(s string, prefixes []string) bool {
					return prefixes == nil || slices.ContainsFunc(prefixes, func(q string) bool { return strings.HasPrefix(s, q) })
				}
				switch {
				case p.Resource == "*":
					return true
				case strings.HasPrefix(p.Resource, "arn:aws:kms:"):
					if resource == p.Resource {
						return true
					}
				case p.Resource == bucket:
					// A narrowed listing needs an s3:prefix under one of
					// the prefixes; other bucket actions need nothing.
					if resource == bucket && (p.Prefixes == nil || listPrefix != nil && under(*listPrefix, p.Prefixes)) {
						return true
					}
				default:
					key, ok := strings.CutPrefix(resource, bucket+"/")
					if ok && under(key, minimalPrefixes(n.Prefixes)) {
						return true
					}
				}
			}
		}
		return false
	}
	var out []probe
	add := func(action, resource string, listPrefix *string) {
		r := Request{Action: action, Resource: resource}
		if listPrefix != nil {
			r.Context = map[string][]string{"s3:prefix": {*listPrefix}}
		}
		out = append(out, probe{r, covers(action, resource, listPrefix)})
	}
	for _, a := range s3Actions {
		add(a, "*", nil)
		add(a, "arn:aws:kms:us-east-1:1:key/k", nil)
		for _, b := range buckets {
			add(a, "arn:aws:s3:::"+b, nil)
			for _, k := range keys {
				add(a, "arn:aws:s3:::"+b+"/"+k, nil)
				add(a, "arn:aws:s3:::"+b, &k)
			}
		}
	}
	return out
}

// TestGenerateAllowsExactlyRequired is the property test: for random
// needs, the generated policy allows every (action, resource) some need's
// Required list covers and implicitly denies everything else probed,
// including keys outside the prefixes, other buckets and other actions.
func TestGenerateAllowsExactlyRequired(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 2026))
	buckets := []string{"alpha", "beta-data", "gamma.logs"}
	prefixPool := []string{"", "in/", "in/deep/", "out/", "raw", "a*b/", "q?/", "$x/"}
	keys := []string{"in/x.csv", "in/deep/y.csv", "inbox/z", "out/part-0", "raw2026/f", "a*b/k", "aXb/k", "q?/k", "qz/k", "$x/k", "other/k", ""}
	features := Features()
	for round := range 60 {
		var needs []Need
		for range 1 + rng.IntN(4) {
			n := Need{Feature: features[rng.IntN(len(features))], Bucket: buckets[rng.IntN(len(buckets))], KMS: rng.IntN(4) == 0}
			if n.KMS && rng.IntN(2) == 0 {
				n.KMSKeyARN = "arn:aws:kms:us-east-1:1:key/k"
			}
			for range rng.IntN(3) {
				n.Prefixes = append(n.Prefixes, prefixPool[rng.IntN(len(prefixPool))])
			}
			needs = append(needs, n)
		}
		doc := Generate(needs)
		if err := doc.Validate(); err != nil {
			t.Fatalf("round %d: generated document invalid: %v", round, err)
		}
		named := []NamedDocument{{Name: "generated.json", Document: doc}}
		for _, p := range probesFor(needs, buckets, keys) {
			got, err := Evaluate(named, p.req)
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if got.Allowed() != p.want {
				js, _ := json.MarshalIndent(doc, "", " ")
				t.Fatalf("round %d: needs %+v\n%s on %s %v: got %v, want allowed=%v\n%s", round, needs, p.req.Action, p.req.Resource, p.req.Context, got, p.want, js)
			}
			if !got.Allowed() && got.Decision != ImplicitDeny {
				t.Fatalf("round %d: a generated policy denied explicitly: %v", round, got)
			}
		}
	}
}

func TestGenerateEmpty(t *testing.T) {
	doc := Generate([]Need{{Feature: "NOPE", Bucket: "b"}, {Feature: FeatureLoad}})
	if len(doc.Statement) != 0 || doc.Validate() == nil {
		t.Errorf("Generate with nothing to allow = %+v", doc)
	}
	same := Generate([]Need{{Feature: FeatureLoad, Bucket: "a-b"}, {Feature: FeatureLoad, Bucket: "a.b"}})
	var sids []string
	for _, s := range same.Statement {
		sids = append(sids, s.Sid)
	}
	if err := same.Validate(); err != nil {
		t.Errorf("Sids %v: %v", sids, err)
	}
}

func TestTrustPolicy(t *testing.T) {
	const instance = "arn:s3bridge:db:eu-west-1:123456789012:db:orders"
	doc := TrustPolicy(instance, "123456789012")
	if err := doc.Validate(); err != nil {
		t.Fatal(err)
	}
	named := []NamedDocument{{Name: "trust.json", Document: doc}}
	ctx := func(service, arn, account string) map[string][]string {
		return map[string][]string{"aws:PrincipalServiceName": {service}, "aws:SourceArn": {arn}, "aws:SourceAccount": {account}}
	}
	tests := []struct {
		name string
		ctx  map[string][]string
		want Decision
	}{
		{"the instance", ctx(AgentService, instance, "123456789012"), Allowed},
		{"another instance", ctx(AgentService, "arn:s3bridge:db:eu-west-1:123456789012:db:other", "123456789012"), ImplicitDeny},
		{"another account", ctx(AgentService, instance, "999999999999"), ImplicitDeny},
		{"another service", ctx("rds.amazonaws.com", instance, "123456789012"), ImplicitDeny},
		{"no source", map[string][]string{"aws:PrincipalServiceName": {AgentService}}, ImplicitDeny},
	}
	for _, tt := range tests {
		got, err := Evaluate(named, Request{Action: "sts:AssumeRole", Resource: "arn:aws:iam::123456789012:role/s3", Context: tt.ctx})
		if err != nil {
			t.Fatal(err)
		}
		if got.Decision != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	out, _ := json.Marshal(doc)
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"AssumeRoleForInstance","Effect":"Allow","Principal":{"Service":"s3bridge.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"123456789012","aws:SourceArn":"arn:s3bridge:db:eu-west-1:123456789012:db:orders"}}}]}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	if bare := TrustPolicyFor(Principal{"AWS": {"arn:aws:iam::1:role/agent"}}, "", ""); bare.Statement[0].Condition != nil || bare.Validate() != nil {
		t.Errorf("TrustPolicyFor without sources = %+v", bare)
	}
}
