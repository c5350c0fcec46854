package connector_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/connector"
)

// TestIssueStartingPoints: last_path and last_modified_time, taken from a
// Treasure Data or Embulk config, leave out what the previous system
// loaded; everything after them is loaded once, late keys included.
func TestIssueStartingPoints(t *testing.T) {
	t.Parallel()
	h := newHarness(t, databases[0])
	for i := 1; i <= 4; i++ {
		h.put(fmt.Sprintf("sp/%d.csv", i), []byte(fmt.Sprintf("id,v\n%d,x\n", i)))
	}
	c := h.setup("sp/", "  last_path: sp/2.csv\n")
	if c.In.LastPath != "sp/2.csv" {
		t.Fatalf("guess lost last_path: %+v", c.In)
	}
	done := h.ok("sp", "t", c)
	if got := joined(h.ids("t")); got != "3,4" {
		t.Fatalf("after a run from last_path sp/2.csv: ids %s, want 3,4", got)
	}
	if done.Files != 2 {
		t.Errorf("files %d, want 2", done.Files)
	}
	// A key after the starting point that sorts before the last loaded
	// one is still loaded: the ledger, not last_path, decides from here.
	h.put("sp/2a.csv", []byte("id,v\n5,x\n"))
	h.ok("sp", "t", c)
	if got := joined(h.ids("t")); got != "3,4,5" {
		t.Fatalf("after a late key: ids %s, want 3,4,5", got)
	}

	// last_modified_time: the objects at or before it are left out.
	h2 := newHarness(t, databases[0])
	h2.put("mt/old.csv", []byte("id,v\n1,x\n"))
	// Listed, not HEAD: HEAD's Last-Modified has whole seconds.
	listed, _, err := h2.store.List(t.Context(), h2.bucket, "mt/", "")
	must(t, err)
	old := listed[0]
	time.Sleep(1100 * time.Millisecond) // S3's LastModified has seconds
	h2.put("mt/new.csv", []byte("id,v\n2,x\n"))
	c2 := h2.setup("mt/", fmt.Sprintf("  use_modified_time: true\n  last_modified_time: %s\n", old.LastModified.UTC().Format("2006-01-02T15:04:05.000Z")))
	h2.ok("mt", "t", c2)
	if got := joined(h2.ids("t")); got != "2" {
		t.Fatalf("after a run from last_modified_time: ids %s, want 2", got)
	}
	// A bad starting time is refused with the expected form.
	c2.In.LastModifiedTime = "2019-06-03 10:30"
	if err := c2.Validate(); err == nil || !strings.Contains(err.Error(), "2019-06-03T10:30:19.806Z") {
		t.Errorf("bad last_modified_time: %v", err)
	}
}

// TestListReportsStorageClass: the S3 client reports each object's storage
// class, which the archived-object rule reads. MinIO stores
// REDUCED_REDUNDANCY; archive classes can't be made on it, so the rule
// itself is the unit test TestReadable.
func TestListReportsStorageClass(t *testing.T) {
	t.Parallel()
	h := newBucket(t)
	h.put("sc/std.csv", []byte("id\n1\n"))
	objs, _, err := h.store.List(t.Context(), h.bucket, "sc/", "")
	must(t, err)
	if len(objs) != 1 || objs[0].StorageClass != "STANDARD" {
		t.Fatalf("listed %+v, want one STANDARD object", objs)
	}
}

// archiving reports the listed objects whose key contains "frozen" as
// GLACIER: MinIO can't store that class, the rest is MinIO's answer.
type archiving struct{ connector.ObjectStore }

func (a archiving) List(ctx context.Context, bucket, prefix, delimiter string) ([]s3bridge.Object, []string, error) {
	objs, prefixes, err := a.ObjectStore.List(ctx, bucket, prefix, delimiter)
	for i := range objs {
		if strings.Contains(objs[i].Key, "frozen") {
			objs[i].StorageClass = "GLACIER"
		}
	}
	return objs, prefixes, err
}

// TestIssueArchivedObjects: an archived object fails the run by key and
// loads nothing; with skip_glacier_objects it is left out and logged, and
// loaded by a later run once readable.
func TestIssueArchivedObjects(t *testing.T) {
	t.Parallel()
	h := newHarness(t, databases[0])
	h.wrap = func(s connector.ObjectStore) connector.ObjectStore { return archiving{s} }
	h.put("ar/1.csv", []byte("id,v\n1,x\n"))
	h.put("ar/2-frozen.csv", []byte("id,v\n2,x\n"))
	c := h.setup("ar/", "")
	done := h.run("ar", "t", c)
	if done.Lifecycle != s3bridge.Failed || !strings.Contains(done.TaskInfo, "ar/2-frozen.csv is stored in GLACIER") {
		t.Fatalf("run over an archived object: %s %s", done.Lifecycle, done.TaskInfo)
	}
	if n := h.count(`SELECT count(*) FROM t`); n != 0 {
		t.Fatalf("%d rows after the failed run, want 0", n)
	}
	c.In.SkipGlacierObjects = true
	h.ok("ar", "t", c)
	if got := joined(h.ids("t")); got != "1" {
		t.Fatalf("with skip_glacier_objects: ids %s, want 1", got)
	}
	lines, err := h.in.TaskLog(t.Context(), h.ok("ar", "t", c).ID)
	must(t, err)
	if !strings.Contains(fmt.Sprint(lines), "skipped s3://"+h.bucket+"/ar/2-frozen.csv: it is archived") {
		t.Errorf("log of a run skipping an archived object: %v", lines)
	}
	// Restored to a readable class: the next run loads it, once.
	h.wrap = nil
	h.ok("ar", "t", c)
	h.ok("ar", "t", c)
	if got := joined(h.ids("t")); got != "1,2" {
		t.Fatalf("after the restore: ids %s, want 1,2", got)
	}
}
