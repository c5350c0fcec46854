package export_test

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/export"
)

// recordingGuard allows everything but what deny names, and records every
// decision it was asked for.
type recordingGuard struct {
	deny string // an action denied on every resource, or ""
	mu   sync.Mutex
	seen []string
}

func (g *recordingGuard) Allow(action, resource string, _ map[string][]string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seen = append(g.seen, action+" "+resource)
	if action == g.deny {
		return fmt.Errorf("%s on %s: implicitDeny: %w", action, resource, s3bridge.ErrAccessDenied)
	}
	return nil
}

func (g *recordingGuard) asked(action, resource string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Contains(g.seen, action+" "+resource)
}

// withGuard makes the harness's runner use g until the test ends.
func (h *harness) withGuard(g s3bridge.Guard) {
	saved := h.runner.Deps.Guard
	h.runner.Deps.Guard = func(s3bridge.Settings, string) (s3bridge.Guard, error) { return g, nil }
	h.t.Cleanup(func() { h.runner.Deps.Guard = saved })
}

// without returns keys minus drop.
func without(keys []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return slices.Contains(drop, k) })
}

// TestOverwriteRemovesStale: an overwrite that writes fewer parts than the
// export it replaces deletes the earlier parts and manifest it did not
// replace, in either naming and across compressions, through the instance
// policy, and nothing else: objects whose names merely look alike stay.
func TestOverwriteRemovesStale(t *testing.T) {
	d := dbNamed("postgres")
	h := newHarness(t, d)
	g := &recordingGuard{}
	h.withGuard(g)
	three := d.series(3000, 0) // three parts of 8 KiB
	one := "SELECT 1 AS one"
	unrelated := []string{"aur/x2.part_00000", "aur/x.part_00001.bak", "aur/x.part_1", "aur/x/other", "aur/x.csv",
		"aws/x2", "aws/x_part02", "aws/x_part2.bak", "aws/x.csv"}
	for _, k := range unrelated {
		h.put(k, "unrelated")
	}
	aur := export.Params{URI: h.uri("aur/x"), Format: export.FormatCSV, MaxFileSize: 8 << 10, Overwrite: true}
	step := func(query string, manifest bool, compression string) []string {
		t.Helper()
		p := aur
		p.Query, p.Manifest, p.Compression = query, manifest, compression
		h.ok(p)
		return without(h.keys("aur/"), unrelated...)
	}

	if got := step(three, true, ""); len(got) != 4 || got[3] != "aur/x.part_00002" {
		t.Fatalf("a first export of three parts and a manifest wrote %v", got)
	}
	want := []string{"aur/x.manifest", "aur/x.part_00000"}
	if got := step(one, true, ""); !reflect.DeepEqual(got, want) {
		t.Errorf("one part over three: %v, want %v", got, want)
	}
	if m := string(h.get("aur/x.manifest")); strings.Contains(m, "part_00001") || !strings.Contains(m, "part_00000") {
		t.Errorf("the manifest names parts the export did not write: %s", m)
	}
	if !g.asked("s3:DeleteObject", "arn:aws:s3:::"+h.bucket+"/aur/x.part_00002") {
		t.Error("the stale part was deleted without asking the instance policy")
	}
	got := step(three, true, export.CompressGzip)
	if !slices.Contains(got, "aur/x.part_00000.gz") || len(slices.DeleteFunc(slices.Clone(got), func(k string) bool {
		return strings.HasSuffix(k, ".gz") || k == "aur/x.manifest"
	})) > 0 {
		t.Errorf("gzip parts over a plain one: %v, want only .gz parts and the manifest", got)
	}
	want = []string{"aur/x.part_00000"}
	if got := step(one, false, ""); !reflect.DeepEqual(got, want) {
		t.Errorf("one part without a manifest over three with one: %v, want %v", got, want)
	}

	ws := export.Params{URI: h.uri("aws/x"), Format: export.FormatCSV, MaxFileSize: 8 << 10, Overwrite: true, Naming: export.NamingAWSS3}
	ws.Query = three
	h.ok(ws)
	if got := without(h.keys("aws/"), unrelated...); !reflect.DeepEqual(got, []string{"aws/x", "aws/x_part2", "aws/x_part3"}) {
		t.Fatalf("a first aws_s3 export of three parts wrote %v", got)
	}
	ws.Query = one
	h.ok(ws)
	if got := without(h.keys("aws/"), unrelated...); !reflect.DeepEqual(got, []string{"aws/x"}) {
		t.Errorf("aws_s3: one part over three: %v, want [aws/x]", got)
	}
	for _, k := range unrelated {
		if body := string(h.get(k)); body != "unrelated" {
			t.Errorf("%s changed: %q", k, body)
		}
	}
	h.uploadsOf("aur/x.part_00000", "aur/x.part_00000.gz", "aur/x.part_00001", "aur/x.manifest", "aws/x", "aws/x_part2")
}

// TestOverwriteFailsKeepsOld: an overwrite that fails, whether its query
// fails after some parts were sent or the instance policy refuses to delete
// the earlier parts it would not replace, leaves the earlier export whole:
// every file with its content, nothing added, no upload left.
func TestOverwriteFailsKeepsOld(t *testing.T) {
	d := dbNamed("postgres")
	h := newHarness(t, d)
	old := export.Params{Query: d.series(3000, 0), URI: h.uri("old/x"), Format: export.FormatCSV, MaxFileSize: 8 << 10, Manifest: true}
	h.ok(old)
	before := map[string][]byte{}
	for _, k := range h.keys("old/") {
		before[k] = h.get(k)
	}
	if len(before) != 4 {
		t.Fatalf("the first export wrote %d files, want 3 parts and a manifest", len(before))
	}
	same := func(what string) {
		t.Helper()
		after := h.keys("old/")
		if len(after) != len(before) {
			t.Errorf("%s: files %v, want the earlier export's %d", what, after, len(before))
		}
		for k, b := range before {
			if got := h.get(k); !bytes.Equal(got, b) {
				t.Errorf("%s: %s changed", what, k)
			}
		}
		h.uploadsOf("old/x.part_00000", "old/x.part_00001", "old/x.part_00002", "old/x.manifest")
	}

	// Row 2000 of 3000 fails: two parts are sent before it.
	p := old
	p.Query, p.Overwrite = d.series(3000, 2000), true
	done := h.fails(p, "stopped after", "finished parts deleted")
	if n := rowsWritten(t, done.TaskInfo); n < 1000 {
		t.Errorf("the failing overwrite wrote %d rows before failing, want parts' worth", n)
	}
	same("after a failed overwrite")

	h.withGuard(&recordingGuard{deny: "s3:DeleteObject"})
	p.Query = "SELECT 1 AS one"
	h.fails(p, "overwrite deletes the files of the earlier export", "s3:DeleteObject on arn:aws:s3:::"+h.bucket+"/old/x.part_00001")
	same("after an overwrite the policy refused")
}
