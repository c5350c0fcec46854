package main

import (
	"bytes"
	"maps"
	"path/filepath"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/sqlite"
)

// TestAttachKindLimits: --max-running-KIND sets one kind's limit, a
// re-attach keeps the limits it doesn't name, and 0 gives a kind back to
// --max-running.
func TestAttachKindLimits(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "t.db")
	attach := func(args ...string) {
		t.Helper()
		var out bytes.Buffer
		e := &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
		if err := run(t.Context(), e, append([]string{"attach", "--db", db, "--no-check"}, args...)); err != nil {
			t.Fatalf("attach %v: %v\n%s", args, err, out.String())
		}
	}
	steps := []struct {
		args       []string
		maxRunning int
		want       map[s3bridge.Kind]int
	}{
		{[]string{"--area", t.TempDir()}, 2, nil},
		{[]string{"--max-running-load", "1", "--max-running-export", "4"}, 2, map[s3bridge.Kind]int{s3bridge.KindLoad: 1, s3bridge.KindExport: 4}},
		{[]string{"--max-running", "3"}, 3, map[s3bridge.Kind]int{s3bridge.KindLoad: 1, s3bridge.KindExport: 4}},
		{[]string{"--max-running-export", "0"}, 3, map[s3bridge.Kind]int{s3bridge.KindLoad: 1}},
	}
	for _, st := range steps {
		attach(st.args...)
		in, err := sqlite.Open(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		set, err := in.Settings(t.Context())
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
		if set.MaxRunning != st.maxRunning || !maps.Equal(set.Limits, st.want) {
			t.Errorf("after attach %v: max running %d, limits %v; want %d, %v", st.args, set.MaxRunning, set.Limits, st.maxRunning, st.want)
		}
	}
}
