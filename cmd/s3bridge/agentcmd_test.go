package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/sqlite"
)

// TestAgentOpensEveryInstanceFirst: when a later --db can't be opened or
// isn't attached, the agent serves nothing and closes those it opened: no
// goroutine is left serving a closed instance.
func TestAgentOpensEveryInstanceFirst(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	good := "sqlite://" + filepath.Join(dir, "good.db")
	in, err := sqlite.Open(t.Context(), good)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Attach(t.Context(), s3bridge.Settings{Area: dir}); err != nil {
		t.Fatal(err)
	}
	in.Close()
	for _, later := range []string{"bogus://nowhere", "sqlite://" + filepath.Join(dir, "unattached.db")} {
		var out bytes.Buffer
		e := &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
		// A context that never ends: only a failure to start returns.
		err := runAgent(context.Background(), e, []string{"--db", good, "--db", later})
		if err == nil {
			t.Fatalf("agent with --db %s: no error", later)
		}
		if filepath.Ext(later) == ".db" && !errors.Is(err, s3bridge.ErrNotAttached) {
			t.Errorf("agent with an unattached --db: got %v, want ErrNotAttached", err)
		}
	}
}
