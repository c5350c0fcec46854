package console

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/control"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/s3store"
	"github.com/s3bridge/s3bridge/token"
)

// TestCheck (against MinIO): before any check the result is 404; an
// operator's check probes the instance's granted bucket with the
// agents' credentials (here MinIO's root key) and keeps the run, which
// the API and the instance page then show; a check the instance can't
// run (no grant, no bucket) is refused with check's words and kept too.
func TestCheck(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	checker := control.Checker{
		Open: func(ctx context.Context, set s3bridge.Settings, _ string) (control.CheckStore, error) {
			path := true
			return s3store.New(ctx, s3store.Config{Endpoint: set.Endpoint, Region: m.Region, PathStyle: &path, Auth: s3store.AuthBasic,
				AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}, nil)
		},
		Guard: func(s3bridge.Settings, string) (s3bridge.Guard, error) { return nil, nil },
	}
	f := newFixture(t, Config{Check: checker.Check}, "app", "bare")
	dir := t.TempDir()
	if err := f.ins[0].Attach(t.Context(), s3bridge.Settings{Area: dir, Endpoint: m.Endpoint, Region: m.Region,
		Grants: []s3bridge.Grant{{Feature: "S3_INTEGRATION", Bucket: bucket}}}); err != nil {
		t.Fatal(err)
	}
	var e apiError
	if status := f.getJSON("/api/instances/app/check", &e); status != http.StatusNotFound || !strings.Contains(e.Message, "no check has run") {
		t.Errorf("before a check: %d %+v", status, e)
	}
	var run checkRun
	if status := f.post("POST", "/api/instances/app/check", f.tokens[token.Operator], "", &run); status != http.StatusOK ||
		run.Report == nil || !run.Report.OK || run.CheckedBy != "operator-token" || len(run.Report.Probes) == 0 ||
		len(run.Report.Buckets) != 1 || run.Report.Buckets[0].Bucket != bucket {
		t.Fatalf("check: %d %+v (report %+v)", status, run, run.Report)
	}
	for _, p := range run.Report.Probes {
		if p.Missing || (p.S3 != "allowed" && !strings.HasPrefix(p.S3, "not probed")) {
			t.Errorf("probe %+v", p)
		}
	}
	var again checkRun
	if status := f.getJSON("/api/instances/app/check", &again); status != http.StatusOK || again.Report == nil || !again.CheckedAt.Equal(run.CheckedAt) {
		t.Errorf("the kept check: %d %+v", status, again)
	}
	res := f.do("GET", "/instances/app", f.tokens[token.Viewer], nil)
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(page), "every probed permission is in place") || !strings.Contains(string(page), "s3:PutObject") ||
		strings.Contains(string(page), "Run check") {
		t.Errorf("the instance page (a viewer's) does not show the check as it should:\n%s", page)
	}
	// The bare instance has no grant: check refuses, and the refusal is
	// kept.
	if status := f.post("POST", "/api/instances/bare/check", f.tokens[token.Operator], "", &e); status != http.StatusBadRequest ||
		!strings.Contains(e.Message, "has no buckets granted") {
		t.Errorf("check without a grant: %d %+v", status, e)
	}
	var refusal checkRun
	if status := f.getJSON("/api/instances/bare/check", &refusal); status != http.StatusOK || refusal.Error == nil || refusal.Report != nil {
		t.Errorf("the kept refusal: %d %+v", status, refusal)
	}
	// With a bucket, it runs; the console's form leads back to the
	// instance page, which shows the run.
	var one checkRun
	if status := f.post("POST", "/api/instances/bare/check", f.tokens[token.Operator], `{"bucket": "`+bucket+`"}`, &one); status != http.StatusOK || one.Report == nil {
		t.Errorf("check --bucket: %d %+v", status, one)
	}
	form := url.Values{"bucket": {bucket}}
	res = f.do("POST", "/instances/bare/check", f.tokens[token.Operator], strings.NewReader(form.Encode()))
	res.Body.Close()
	if res.Request.URL.Path != "/instances/bare" {
		t.Errorf("the check form leads to %s, want the instance page", res.Request.URL.Path)
	}
}

// TestCheckNotWired: a server without S3 access says so.
func TestCheckNotWired(t *testing.T) {
	f := newFixture(t, Config{})
	var e apiError
	if status := f.post("POST", "/api/instances/app/check", f.tokens[token.Operator], "", &e); status != http.StatusNotImplemented || e.Code != "not_implemented" {
		t.Errorf("check without a checker: %d %+v", status, e)
	}
}
