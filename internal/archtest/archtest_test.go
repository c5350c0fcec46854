package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/s3bridge/s3bridge"

// pkg is a package as go list -json describes it.
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string // every package it links, transitively
}

// graph is the module's packages and everything they link (go list
// -deps), by import path.
type graph map[string]pkg

// load runs go list -deps over the module. The go command is the one
// running the tests; without it the test fails, never skips.
func load(t *testing.T) graph {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to read the import graph: %v", err)
	}
	gomod, err := exec.CommandContext(t.Context(), goBin, "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" {
		t.Fatalf("go env GOMOD: %q, %v", gomod, err)
	}
	cmd := exec.CommandContext(t.Context(), goBin, "list", "-deps", "-json=ImportPath,Imports,Deps", "./...")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("go list -deps ./...: %v\n%s", err, exit.Stderr)
		}
		t.Fatalf("go list -deps ./...: %v", err)
	}
	g := graph{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		g[p.ImportPath] = p
	}
	return g
}

// ours returns the module's own packages, relative to the module
// ("" for the root, "instance/postgres"), sorted.
func (g graph) ours() []string {
	var rel []string
	for path := range g {
		if path == module {
			rel = append(rel, "")
		} else if r, ok := strings.CutPrefix(path, module+"/"); ok {
			rel = append(rel, r)
		}
	}
	slices.Sort(rel)
	return rel
}

// chain is the shortest import chain from package from to package to,
// "a → b → c", for a failure to show where a forbidden link comes in.
func (g graph) chain(from, to string) string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var path []string
			for p := to; p != ""; p = prev[p] {
				path = append(path, strings.TrimPrefix(p, module+"/"))
			}
			slices.Reverse(path)
			return strings.Join(path, " → ")
		}
		for _, next := range g[cur].Imports {
			if _, seen := prev[next]; !seen {
				prev[next] = cur
				queue = append(queue, next)
			}
		}
	}
	return from + " → … → " + to
}

// under reports whether rel is one of dirs or inside one ("" is the root
// package alone).
func under(rel string, dirs ...string) bool {
	for _, d := range dirs {
		if rel == d || (d != "" && strings.HasPrefix(rel, d+"/")) {
			return true
		}
	}
	return false
}

// sdk reports whether an import path is the AWS SDK or its runtime.
func sdk(path string) bool {
	return strings.HasPrefix(path, "github.com/aws/aws-sdk-go-v2") || strings.HasPrefix(path, "github.com/aws/smithy-go")
}

// mayLinkSDK are the packages allowed to link the AWS SDK: the one
// package that talks to S3, the binary that wires it in, and the test
// and benchmark tools that reach MinIO's admin side. Every other package
// — the domain, the capabilities (load, export, transfer, connector,
// pipeline), the codecs (format), the drivers (instance), the agent —
// reaches S3 through small interfaces over SDK-free types, so it and its
// fakes build without the SDK.
var mayLinkSDK = []string{"s3store", "cmd", "internal/testenv", "internal/tasktest", "internal/filecheck", "internal/cdctest", "bench"}

// TestImportGraph: the seams of issue 20 hold. Database drivers
// (instance/...) depend only downward, never on a capability that uses
// them; and only s3store (and the binary) link the AWS SDK.
func TestImportGraph(t *testing.T) {
	g := load(t)
	ours := g.ours()
	// A graph missing the packages the rules are about would pass them
	// vacuously.
	for _, want := range []string{"", "connector", "export", "load", "transfer", "s3store", "instance/postgres", "instance/bulk", "format/parquet"} {
		if !slices.Contains(ours, want) {
			t.Fatalf("go list did not list %s/%s: %v", module, want, ours)
		}
	}
	for _, rule := range []struct {
		name      string
		applies   func(rel string) bool
		forbidden func(dep string) bool
	}{
		{
			name:    "instance packages import no capability",
			applies: func(rel string) bool { return under(rel, "instance") },
			forbidden: func(dep string) bool {
				rel, ok := strings.CutPrefix(dep, module+"/")
				return ok && under(rel, "load", "export", "transfer", "connector", "pipeline", "proxy", "cmd")
			},
		},
		{
			name:      "only s3store links the AWS SDK",
			applies:   func(rel string) bool { return !under(rel, mayLinkSDK...) },
			forbidden: sdk,
		},
	} {
		t.Run(rule.name, func(t *testing.T) {
			checked := 0
			for _, rel := range ours {
				if !rule.applies(rel) {
					continue
				}
				checked++
				path := strings.TrimSuffix(module+"/"+rel, "/")
				for _, dep := range g[path].Deps {
					if rule.forbidden(dep) {
						t.Errorf("%s links %s: %s", path, dep, g.chain(path, dep))
						break // one chain per package says enough
					}
				}
			}
			if checked == 0 {
				t.Fatal("the rule applied to no package")
			}
		})
	}
	// The SDK rule can see the SDK: s3store links it.
	if !slices.ContainsFunc(g[module+"/s3store"].Deps, sdk) {
		t.Errorf("s3store links no AWS SDK package: the rule can't tell")
	}
}
