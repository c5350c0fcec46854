package connector_test

import (
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/policy"
)

// TestRunUnderInstancePolicy: a connector run is fenced by the instance's
// own S3 policy as a load is: a prefix, a whole bucket or a single path
// the instance's grants leave out ends the run in ERROR (access_denied)
// before any row is loaded, naming the action and the resource; a granted
// prefix loads.
func TestRunUnderInstancePolicy(t *testing.T) {
	t.Parallel()
	for _, d := range databases {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			must(t, h.in.Attach(t.Context(), s3bridge.Settings{Area: t.TempDir(),
				Grants: []s3bridge.Grant{{Feature: "LOAD", Bucket: h.bucket, Prefixes: []string{"allowed/"}}}}))
			h.importer.Guard = func(set s3bridge.Settings, name string) (s3bridge.Guard, error) {
				g, err := policy.NewGuard(set, name, false)
				if g == nil {
					return nil, err
				}
				return g, err
			}
			h.put("allowed/a.csv", []byte("id,v\n1,x\n"))
			h.put("denied/b.csv", []byte("id,v\n2,y\n"))
			c := h.setup("allowed/", "")

			for _, tc := range []struct{ name, prefix, path, resource string }{
				{"denied prefix", "denied/", "", "arn:aws:s3:::" + h.bucket},
				{"whole bucket", "", "", "arn:aws:s3:::" + h.bucket},
				{"single path", "", "denied/b.csv", "arn:aws:s3:::" + h.bucket + "/denied/b.csv"},
			} {
				cc := c
				cc.In.PathPrefix, cc.In.Path = &tc.prefix, tc.path
				if tc.path != "" {
					cc.In.PathPrefix = nil
				}
				done := h.run("p-"+strings.ReplaceAll(tc.name, " ", "-"), "t", cc)
				if done.Lifecycle != s3bridge.Failed || done.ErrorCode != s3bridge.CodeAccessDenied ||
					!strings.Contains(done.TaskInfo, tc.resource) || !strings.Contains(done.TaskInfo, "implicitDeny") {
					t.Errorf("%s: %s %q (code %q), want ERROR access_denied naming %s", tc.name, done.Lifecycle, done.TaskInfo, done.ErrorCode, tc.resource)
				}
				if ids := h.ids("t"); len(ids) != 0 {
					t.Fatalf("%s: rows %v loaded past the policy", tc.name, ids)
				}
			}
			h.ok("p-allowed", "t", c)
			if got := joined(h.ids("t")); got != "1" {
				t.Errorf("granted prefix: ids %s, want 1", got)
			}
		})
	}
}
