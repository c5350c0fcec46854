package transfer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/s3bridge/s3bridge"
)

// Dir is a directory that nothing may leave: the file area, or a directory
// object. Every file operation goes through an os.Root, so neither "..", an
// absolute path, nor a symlink planted inside can reach outside it.
type Dir struct {
	Path string
	Root *os.Root
	perm Perm // what files and directories created inside get
}

// OpenDir opens a directory for confined access, creating it (and its
// missing parents) first if create is set. What is created, then and
// later inside it, gets perm's mode and group.
func OpenDir(path string, create bool, perm Perm) (*Dir, error) {
	if create {
		if err := perm.mkdirAll(path); err != nil {
			return nil, fmt.Errorf("create directory %s: %w", path, err)
		}
	}
	r, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("open directory %s: %w", path, err)
	}
	return &Dir{Path: path, Root: r, perm: perm}, nil
}

// Close releases the directory.
func (d *Dir) Close() error { return d.Root.Close() }

// Rel turns a user's path into a local path inside d. It accepts a path
// relative to d or an absolute path lexically inside d; it refuses, by name,
// anything else: "..", other absolute paths, Windows drive and UNC paths,
// backslashes and NUL bytes. Symlinks are refused later by d.Root.
func (d *Dir) Rel(userPath string) (string, error) {
	p := userPath
	switch {
	case p == "":
		return "", fmt.Errorf("empty file path")
	case strings.ContainsAny(p, "\\\x00"):
		return "", fmt.Errorf("file path \"%s\": backslashes and NUL are not allowed: %w", userPath, s3bridge.ErrOutsideDirectory)
	case len(p) >= 2 && p[1] == ':':
		return "", fmt.Errorf("file path \"%s\": drive paths are not allowed: %w", userPath, s3bridge.ErrOutsideDirectory)
	}
	if filepath.IsAbs(p) {
		rel, err := filepath.Rel(d.Path, p)
		if err != nil || !filepath.IsLocal(rel) {
			return "", fmt.Errorf("file path \"%s\" is outside %s: %w", userPath, d.Path, s3bridge.ErrOutsideDirectory)
		}
		p = rel
	}
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("file path \"%s\" is outside %s: %w", userPath, d.Path, s3bridge.ErrOutsideDirectory)
	}
	if p = filepath.Clean(p); p == "." {
		return "", fmt.Errorf("file path \"%s\" names the directory itself, not a file in it: %w", userPath, s3bridge.ErrOutsideDirectory)
	}
	return p, nil
}

// LocalName checks that an object key's last element can be a file name in a
// directory: not empty, ".", "..", nor holding a backslash or NUL. Keys
// that read as a path leaving somewhere else are refused whole, though
// only their last element is used: an absolute key ("/etc/x"), a ".."
// element anywhere ("a/../../x"), a backslash anywhere (a Windows path).
func LocalName(key string) (string, error) {
	name := key[strings.LastIndex(key, "/")+1:]
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "\\\x00") || (len(name) >= 2 && name[1] == ':') {
		return "", fmt.Errorf("object key \"%s\" does not name a file that can stay in its directory: %w", key, s3bridge.ErrOutsideDirectory)
	}
	if strings.HasPrefix(key, "/") || strings.Contains(key, "\\") || slices.Contains(strings.Split(key, "/"), "..") {
		return "", fmt.Errorf("object key \"%s\" reads as a path outside its prefix: %w", key, s3bridge.ErrOutsideDirectory)
	}
	return name, nil
}

// countFiles counts regular files below d, for the area's file limit.
func (d *Dir) countFiles() (int, error) {
	n := 0
	err := fs.WalkDir(d.Root.FS(), ".", func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n, err
}

// noSymlinks refuses a path any element of which is a symlink, naming it:
// a link planted in the area must not redirect a transfer. os.Root would
// stop a link that leads outside anyway; this makes the refusal explicit
// and also covers links that stay inside.
func (d *Dir) noSymlinks(rel, userPath string) error {
	parts := strings.Split(rel, string(filepath.Separator))
	for i := range parts {
		sub := filepath.Join(parts[:i+1]...)
		fi, err := d.Root.Lstat(sub)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("check %s: %w", userPath, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("file path \"%s\" goes through symlink \"%s\": %w", userPath, sub, s3bridge.ErrOutsideDirectory)
		}
	}
	return nil
}

// Resolve is Rel followed by the symlink check.
func (d *Dir) Resolve(userPath string) (string, error) {
	rel, err := d.Rel(userPath)
	if err != nil {
		return "", err
	}
	return rel, d.noSymlinks(rel, userPath)
}
