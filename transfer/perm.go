package transfer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/s3bridge/s3bridge"
)

// Perm is what s3bridge gives the files and directories it creates in the
// file area and directory objects, so that a database server running as
// another OS user can read them (COPY … FROM a downloaded file).
type Perm struct {
	// Mode is the files' permission bits; directories get them plus x
	// wherever r is set (0640 gives 0750). 0 lets the umask decide from
	// 0666 and 0777, as ordinary tools do.
	Mode fs.FileMode
	// GID is the group to give them when ChangeGroup is set.
	GID         int
	ChangeGroup bool
}

// PermOf reads the instance's FileMode and FileGroup settings.
func PermOf(set s3bridge.Settings) (Perm, error) {
	var p Perm
	var err error
	if set.FileMode != "" {
		if p.Mode, err = ParseFileMode(set.FileMode); err != nil {
			return Perm{}, fmt.Errorf("instance setting file_mode: %w", err)
		}
	}
	if set.FileGroup != "" {
		if p.GID, err = LookupGroup(set.FileGroup); err != nil {
			return Perm{}, fmt.Errorf("instance setting file_group: %w", err)
		}
		p.ChangeGroup = true
	}
	return p, nil
}

// ParseFileMode reads an octal file mode such as 0640 (or 640, 0o640). It
// must be at most 0777 and let the owner read and write, since the agent
// keeps working on what it creates.
func ParseFileMode(s string) (fs.FileMode, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(s), "0o"), 8, 32)
	if err != nil || n > 0o777 {
		return 0, fmt.Errorf("file mode %q: want an octal mode from 0600 to 0777, such as 0640", s)
	}
	if n&0o600 != 0o600 {
		return 0, fmt.Errorf("file mode %q: the owner (the agent) must be able to read and write (0600 at least)", s)
	}
	return fs.FileMode(n), nil
}

// LookupGroup returns the ID of a group given by name or by number; the
// group must exist on this host.
func LookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		var unknown user.UnknownGroupError
		if !errors.As(err, &unknown) {
			return 0, fmt.Errorf("group %q: %w", name, err)
		}
		if _, nerr := strconv.Atoi(name); nerr != nil {
			return 0, fmt.Errorf("group %q does not exist on this host", name)
		}
		if g, err = user.LookupGroupId(name); err != nil {
			return 0, fmt.Errorf("group ID %s does not exist on this host", name)
		}
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return 0, fmt.Errorf("group %q has a non-numeric ID %q", name, g.Gid)
	}
	return gid, nil
}

func (p Perm) fileMode() fs.FileMode {
	if p.Mode == 0 {
		return 0o666
	}
	return p.Mode
}

func (p Perm) dirMode() fs.FileMode {
	if p.Mode == 0 {
		return 0o777
	}
	return p.Mode | (p.Mode&0o444)>>2
}

// chFS changes the mode and group of a path: the os package, or an
// os.Root.
type chFS interface {
	Chmod(name string, mode fs.FileMode) error
	Lchown(name string, uid, gid int) error
}

type osFS struct{}

func (osFS) Chmod(name string, mode fs.FileMode) error { return os.Chmod(name, mode) }
func (osFS) Lchown(name string, uid, gid int) error    { return os.Lchown(name, uid, gid) }

// applyDir gives a directory just created the configured group and exact
// mode: the umask stripped bits from the mode it was created with.
func (p Perm) applyDir(fsys chFS, name string) error {
	if p.ChangeGroup {
		if err := fsys.Lchown(name, -1, p.GID); err != nil {
			return fmt.Errorf("give directory %s group %d: %w", name, p.GID, err)
		}
	}
	if p.Mode != 0 {
		if err := fsys.Chmod(name, p.dirMode()); err != nil {
			return fmt.Errorf("set the mode of directory %s: %w", name, err)
		}
	}
	return nil
}

// applyFile is applyDir for an open file, through its descriptor.
func (p Perm) applyFile(f *os.File) error {
	if p.ChangeGroup {
		if err := f.Chown(-1, p.GID); err != nil {
			return fmt.Errorf("give %s group %d: %w", f.Name(), p.GID, err)
		}
	}
	if p.Mode != 0 {
		if err := f.Chmod(p.Mode); err != nil {
			return fmt.Errorf("set the mode of %s: %w", f.Name(), err)
		}
	}
	return nil
}

// mkdirAll creates path and its missing parents, giving each directory it
// creates the configured mode and group.
func (p Perm) mkdirAll(path string) error {
	var missing []string
	for d := filepath.Clean(path); ; {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		missing = append(missing, d)
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], p.dirMode()); err != nil {
			if errors.Is(err, fs.ErrExist) {
				continue // made meanwhile by someone else: not ours to change
			}
			return err
		}
		if err := p.applyDir(osFS{}, missing[i]); err != nil {
			return err
		}
	}
	return nil
}

// mkdirAll creates rel and its missing parents inside d, giving each
// directory it creates d's mode and group.
func (d *Dir) mkdirAll(rel string) error {
	parts := strings.Split(filepath.Clean(rel), string(filepath.Separator))
	for i := range parts {
		sub := filepath.Join(parts[:i+1]...)
		if err := d.Root.Mkdir(sub, d.perm.dirMode()); err != nil {
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			return err
		}
		if err := d.perm.applyDir(d.Root, sub); err != nil {
			return err
		}
	}
	return nil
}

// create makes a new file (it must not exist) inside d with d's mode and
// group, open for writing.
func (d *Dir) create(rel string) (*os.File, error) {
	f, err := d.Root.OpenFile(rel, os.O_CREATE|os.O_EXCL|os.O_WRONLY, d.perm.fileMode())
	if err != nil {
		return nil, err
	}
	if err := d.perm.applyFile(f); err != nil {
		f.Close()
		d.Root.Remove(rel)
		return nil, err
	}
	return f, nil
}
