package main

import (
	"cmp"
	"context"
	"fmt"
	"runtime/debug"
)

// buildInfo is what the binary knows of its build: the module version
// (v1.2.3 when installed with go install …@v1.2.3, "(devel)" from a
// checkout), the Go version and the VCS revision go build stamps.
type buildInfo struct {
	Version  string `json:"version"`
	Go       string `json:"go"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"revision_time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
}

func readBuildInfo() buildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return buildInfo{Version: "unknown"}
	}
	out := buildInfo{Version: cmp.Or(bi.Main.Version, "(devel)"), Go: bi.GoVersion}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			out.Revision = s.Value
		case "vcs.time":
			out.Time = s.Value
		case "vcs.modified":
			out.Modified = s.Value == "true"
		}
	}
	return out
}

// versionString is the version in one word or two, as the agent records
// it with its presence and logs it at start: v1.2.3, or (devel) with the
// revision's first 12 digits and "+dirty" for uncommitted changes.
func versionString() string {
	bi := readBuildInfo()
	if bi.Revision == "" {
		return bi.Version
	}
	rev := bi.Revision[:min(12, len(bi.Revision))]
	if bi.Modified {
		rev += "+dirty"
	}
	return bi.Version + " " + rev
}

func runVersion(_ context.Context, e *env, args []string) error {
	var asJSON bool
	fs := newFlagSet("version", e)
	fs.BoolVar(&asJSON, "json", false, "print one JSON document: version, go, revision, revision_time, modified")
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	bi := readBuildInfo()
	if asJSON {
		return writeJSON(e.stdout, bi)
	}
	fmt.Fprintf(e.stdout, "s3bridge %s\n%s\n", bi.Version, bi.Go)
	if bi.Revision != "" {
		dirty := ""
		if bi.Modified {
			dirty = " (with uncommitted changes)"
		}
		fmt.Fprintf(e.stdout, "revision %s %s%s\n", bi.Revision, bi.Time, dirty)
	}
	return nil
}
