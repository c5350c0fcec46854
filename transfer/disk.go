package transfer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/s3bridge/s3bridge"
)

// gather is SQL Server's rds_gather_file_details: every file and folder in
// the file area, saved for list_file_details. Folders end with a separator.
func gather(ctx context.Context, set s3bridge.Settings, perm Perm, rep s3bridge.Reporter) (s3bridge.Result, error) {
	if set.Area == "" {
		return s3bridge.Result{}, fmt.Errorf("no file area is set for this instance (attach --area DIR)")
	}
	area, err := OpenDir(set.Area, true, perm)
	if err != nil {
		return s3bridge.Result{}, err
	}
	defer area.Close()
	var files []s3bridge.FileDetail
	err = fs.WalkDir(area.Root.FS(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		full := filepath.Join(area.Path, p)
		if e.IsDir() {
			full += string(filepath.Separator)
		}
		files = append(files, s3bridge.FileDetail{FilePath: full, SizeInBytes: fi.Size(), LastModifiedUTC: fi.ModTime().UTC(), IsDirectory: e.IsDir()})
		return nil
	})
	if err != nil {
		return s3bridge.Result{}, fmt.Errorf("list the file area %s: %w", set.Area, err)
	}
	if err := rep.SaveFileDetails(ctx, files); err != nil {
		return s3bridge.Result{}, err
	}
	var size int64
	for _, f := range files {
		size += f.SizeInBytes
	}
	info := fmt.Sprintf("gathered %d entries in %s", len(files), set.Area)
	return s3bridge.Result{Info: info, Files: int64(len(files)), Bytes: size}, nil
}

// deleteFiles is SQL Server's rds_delete_from_filesystem: a file, or a
// folder when the path ends with a separator and force_delete is 1.
func deleteFiles(set s3bridge.Settings, p Delete, rep s3bridge.Reporter) (s3bridge.Result, error) {
	if set.Area == "" {
		return s3bridge.Result{}, fmt.Errorf("no file area is set for this instance (attach --area DIR)")
	}
	area, err := OpenDir(set.Area, false, Perm{})
	if err != nil {
		return s3bridge.Result{}, err
	}
	defer area.Close()
	wantDir := strings.HasSuffix(p.FilePath, "/")
	if strings.TrimSuffix(p.FilePath, "/") == "" || filepath.Clean(p.FilePath) == filepath.Clean(set.Area) {
		return s3bridge.Result{}, fmt.Errorf("file path \"%s\" names the whole file area: refusing to delete it", p.FilePath)
	}
	rel, err := area.Resolve(strings.TrimSuffix(p.FilePath, "/"))
	if err != nil {
		return s3bridge.Result{}, err
	}
	fi, err := area.Root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return s3bridge.Result{}, fmt.Errorf("%s: %w in the file area", p.FilePath, s3bridge.ErrNotFound)
	}
	if err != nil {
		return s3bridge.Result{}, fmt.Errorf("stat %s: %w", p.FilePath, err)
	}
	switch {
	case fi.IsDir() && !wantDir:
		return s3bridge.Result{}, fmt.Errorf("%s is a directory: end the path with / and set force_delete to 1", p.FilePath)
	case fi.IsDir() && p.Force != 1:
		return s3bridge.Result{}, fmt.Errorf("%s is a directory: set force_delete to 1 to delete it", p.FilePath)
	case !fi.IsDir() && wantDir:
		return s3bridge.Result{}, fmt.Errorf("%s is not a directory", p.FilePath)
	case fi.IsDir():
		err = area.Root.RemoveAll(rel)
	default:
		err = area.Root.Remove(rel)
	}
	if err != nil {
		return s3bridge.Result{}, fmt.Errorf("delete %s: %w", p.FilePath, err)
	}
	// The outcome is the log's line for it (the agent's Finish writes it).
	return s3bridge.Result{Info: fmt.Sprintf("deleted %s", filepath.Join(area.Path, p.FilePath))}, nil
}
