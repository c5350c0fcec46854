package transfer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge"
)

// FuzzLocalName: a name taken from an object key is one plain path
// element, the key's last, or the key is refused with ErrOutsideDirectory.
func FuzzLocalName(f *testing.F) {
	for _, s := range []string{"a/b/c.txt", "top.dmp", "..", "a/..", "a/.", `a\b`, "x/C:evil", "/etc/passwd", "pre/../x",
		"", "dir/", "nul\x00", "...", "a/../../b", `..\..\x`, "C:", "//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		name, err := LocalName(key)
		if err != nil {
			if !errors.Is(err, s3bridge.ErrOutsideDirectory) {
				t.Fatalf("LocalName(%q): %v, want ErrOutsideDirectory", key, err)
			}
			return
		}
		if name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") || !filepath.IsLocal(name) || filepath.Base(name) != name {
			t.Fatalf("LocalName(%q) = %q: not one plain path element", key, name)
		}
		if !strings.HasSuffix(key, "/"+name) && key != name {
			t.Fatalf("LocalName(%q) = %q: not the key's last element", key, name)
		}
	})
}

// FuzzResolve runs Resolve on a real file area holding a symlink to a
// directory outside it and one to a directory inside it: whatever path it
// accepts is local and goes through no symlink.
func FuzzResolve(f *testing.F) {
	root := f.TempDir()
	area, outside := filepath.Join(root, "area"), filepath.Join(root, "outside")
	for _, dir := range []string{filepath.Join(area, "sub", "deep"), outside} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			f.Fatal(err)
		}
	}
	for link, to := range map[string]string{"link": outside, "sub/in": filepath.Join(area, "sub", "deep"), "file.csv": filepath.Join(outside, "x")} {
		if err := os.Symlink(to, filepath.Join(area, link)); err != nil {
			f.Fatal(err)
		}
	}
	d, err := OpenDir(area, false, Perm{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { d.Close() })
	for _, s := range []string{"a.csv", "link/x", "sub/in/x", "sub/deep/x", "sub/../link/x", "file.csv", "/abs", area + "/sub/x",
		area + "/link/x", "./link", "sub/./in/../in/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		rel, err := d.Resolve(p)
		if err != nil {
			return
		}
		if !filepath.IsLocal(rel) {
			t.Fatalf("Resolve(%q) = %q: not local", p, rel)
		}
		parts := strings.Split(rel, string(filepath.Separator))
		for i := range parts {
			fi, err := os.Lstat(filepath.Join(area, filepath.Join(parts[:i+1]...)))
			if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
				t.Fatalf("Resolve(%q) = %q goes through symlink %s", p, rel, filepath.Join(parts[:i+1]...))
			}
		}
	})
}
