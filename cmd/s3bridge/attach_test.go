package main

import (
	"bytes"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/instance/sqlite"
)

// TestAttachFileMode: attach refuses a file mode or group that can't work,
// naming the flag, stores good ones normalized, and a re-attach that
// doesn't give them keeps them.
func TestAttachFileMode(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "t.db")
	attach := func(args ...string) error {
		var out bytes.Buffer
		e := &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
		return run(t.Context(), e, append([]string{"attach", "--db", db, "--no-check"}, args...))
	}
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"--file-mode", "0999"}, "--file-mode: file mode \"0999\""},
		{[]string{"--file-mode", "1777"}, "--file-mode"},
		{[]string{"--file-mode", "0440"}, "--file-mode"},
		{[]string{"--file-group", "s3bridge-no-such-group"}, "--file-group: group \"s3bridge-no-such-group\" does not exist"},
	}
	for _, tc := range bad {
		if err := attach(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("attach %v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
	g, err := user.LookupGroupId(strconv.Itoa(os.Getegid()))
	if err != nil {
		t.Fatal(err)
	}
	if err := attach("--area", t.TempDir(), "--file-mode", "640", "--file-group", g.Name); err != nil {
		t.Fatal(err)
	}
	if err := attach("--max-files", "7"); err != nil {
		t.Fatal(err)
	}
	in, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	set, err := in.Settings(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if set.FileMode != "0640" || set.FileGroup != g.Name || set.MaxFiles != 7 {
		t.Errorf("after re-attach: file mode %q, group %q, max files %d; want 0640, %s, 7", set.FileMode, set.FileGroup, set.MaxFiles, g.Name)
	}
}
