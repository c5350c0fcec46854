package connector

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/bulk"
)

func TestChoose(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	obj := func(key, etag string, hours int) s3bridge.Object {
		return s3bridge.Object{Key: key, ETag: etag, Size: 1, LastModified: t0.Add(time.Duration(hours) * time.Hour)}
	}
	entry := func(key, etag string, hours int) bulk.LedgerEntry {
		return bulk.LedgerEntry{Key: key, ETag: etag, LastModified: t0.Add(time.Duration(hours) * time.Hour), TaskID: 7}
	}
	view := func(newest int, es ...bulk.LedgerEntry) ledgerView {
		v := ledgerView{entries: map[string]bulk.LedgerEntry{}, window: 24 * time.Hour, newest: t0.Add(time.Duration(newest) * time.Hour)}
		for _, e := range es {
			v.entries[e.Key] = e
		}
		return v
	}
	keys := func(c choice) string {
		var k []string
		for _, o := range c.load {
			k = append(k, o.Key)
		}
		return strings.Join(k, ",")
	}
	tests := []struct {
		name        string
		objs        []s3bridge.Object
		v           ledgerView
		incremental bool
		onChanged   string
		limit       int
		want        string // keys loaded; then loaded/changed/kept/old/deferred
		counts      string
		err         string
	}{
		{"first run", []s3bridge.Object{obj("b", "1", 0), obj("a", "1", 5)}, ledgerView{}, true, "", 0, "a,b", "0/0/0/0/0", ""},
		{"loaded skipped", []s3bridge.Object{obj("a", "1", 0), obj("b", "1", 1)}, view(1, entry("a", "1", 0)), true, "", 0, "b", "1/0/0/0/0", ""},
		{"late key sorting first", []s3bridge.Object{obj("0", "1", 2), obj("z", "1", 1)}, view(1, entry("z", "1", 1)), true, "", 0, "0", "1/0/0/0/0", ""},
		{"late but old upload time", []s3bridge.Object{obj("0", "1", -20), obj("z", "1", 1)}, view(1, entry("z", "1", 1)), true, "", 0, "0", "1/0/0/0/0", ""},
		{"older than the window", []s3bridge.Object{obj("0", "1", -30), obj("z", "1", 1)}, view(1, entry("z", "1", 1)), true, "", 0, "", "1/0/0/1/0", ""},
		{"changed reload", []s3bridge.Object{obj("a", "2", 3)}, view(1, entry("a", "1", 1)), true, "reload", 0, "a", "0/1/0/0/0", ""},
		{"changed skip", []s3bridge.Object{obj("a", "2", 3)}, view(1, entry("a", "1", 1)), true, "skip", 0, "", "0/0/1/0/0", ""},
		{"changed error", []s3bridge.Object{obj("a", "2", 3)}, view(1, entry("a", "1", 1)), true, "error", 0, "", "", "a changed since task 7"},
		{"limit takes the oldest", []s3bridge.Object{obj("a", "1", 3), obj("b", "1", 1), obj("c", "1", 2)}, ledgerView{}, true, "", 2, "b,c", "0/0/0/0/1", ""},
		{"not incremental", []s3bridge.Object{obj("a", "1", 0)}, view(1, entry("a", "1", 0)), false, "", 0, "a", "0/0/0/0/0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := choose(tt.objs, tt.v, tt.incremental, tt.onChanged, tt.limit)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("got %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			counts := fmt.Sprintf("%d/%d/%d/%d/%d", c.loaded, c.changed, c.kept, c.old, c.deferred)
			if keys(c) != tt.want || counts != tt.counts {
				t.Errorf("got %q %s, want %q %s", keys(c), counts, tt.want, tt.counts)
			}
		})
	}
}

// TestReadable: archived objects (GLACIER, DEEP_ARCHIVE) fail the run by
// key, or are skipped with skip_glacier_objects; GLACIER_IR and unknown
// classes are read.
func TestReadable(t *testing.T) {
	objs := []s3bridge.Object{
		{Key: "a", StorageClass: "STANDARD"},
		{Key: "b", StorageClass: "GLACIER"},
		{Key: "c", StorageClass: "GLACIER_IR"},
		{Key: "d", StorageClass: "DEEP_ARCHIVE"},
		{Key: "e"},
	}
	for _, tc := range []struct {
		name    string
		skip    bool
		read    string
		skipped string
		err     string
	}{
		{name: "fail", err: "s3://bk/b is stored in GLACIER"},
		{name: "skip", skip: true, read: "a,c,e", skipped: "b,d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := In{Bucket: "bk", SkipGlacierObjects: tc.skip}
			read, skipped, err := in.readable(objs)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "skip_glacier_objects") {
					t.Fatalf("error %v, want one naming %q and the option", err, tc.err)
				}
				return
			}
			var keys []string
			for _, o := range read {
				keys = append(keys, o.Key)
			}
			if err != nil || strings.Join(keys, ",") != tc.read || strings.Join(skipped, ",") != tc.skipped {
				t.Errorf("read %v, skipped %v, %v; want %s and %s", keys, skipped, err, tc.read, tc.skipped)
			}
		})
	}
	if len(objs) != 5 || objs[1].Key != "b" {
		t.Error("readable changed its argument")
	}
}
