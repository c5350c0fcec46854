package transfer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/s3bridge/s3bridge"
)

// area opens the file area, creating it if needed.
func (j *job) area() (*Dir, error) {
	if j.set.Area == "" {
		return nil, fmt.Errorf("no file area is set for this instance (attach --area DIR)")
	}
	return OpenDir(j.set.Area, true, j.perm)
}

// downloadFile is SQL Server's rds_download_from_s3: one object to a path
// in the file area (default: the object's name at the top of the area),
// creating folders on the way.
func (j *job) downloadFile(ctx context.Context, p FileTransfer) (s3bridge.Result, error) {
	loc, err := s3bridge.ParseObjectURI(p.ARN)
	if err != nil {
		return s3bridge.Result{}, err
	}
	area, err := j.area()
	if err != nil {
		return s3bridge.Result{}, err
	}
	defer area.Close()
	target := p.FilePath
	if target == "" || strings.HasSuffix(target, "/") {
		name, err := LocalName(loc.Key)
		if err != nil {
			return s3bridge.Result{}, err
		}
		target += name
	}
	rel, err := area.Resolve(target)
	if err != nil {
		return s3bridge.Result{}, err
	}
	if !j.set.ExtensionAllowed(rel) {
		return s3bridge.Result{}, fmt.Errorf("%s: extension %q is not allowed in the file area (allowed: none, %s): %w",
			target, filepath.Ext(rel), strings.Join(j.set.AllowedExtensions, " "), s3bridge.ErrLimit)
	}
	overwrite := p.Overwrite == 1
	var existing fs.FileInfo // checked against the object on a takeover
	if fi, err := area.Root.Lstat(rel); err == nil {
		if fi.IsDir() {
			return s3bridge.Result{}, fmt.Errorf("%s is a directory", target)
		}
		if !overwrite && !j.takeover() {
			return s3bridge.Result{}, fmt.Errorf("%s: %w (overwrite_file is 0)", target, s3bridge.ErrExists)
		}
		existing = fi
	} else if n, err := area.countFiles(); err != nil {
		return s3bridge.Result{}, fmt.Errorf("count files in the file area: %w", err)
	} else if n >= j.set.MaxFiles {
		return s3bridge.Result{}, fmt.Errorf("the file area holds %d files, its limit is %d: %w", n, j.set.MaxFiles, s3bridge.ErrLimit)
	}
	if err := j.guard.Allow("s3:GetObject", loc.ARN(), nil); err != nil {
		return s3bridge.Result{}, err
	}
	if err := j.notPublic(ctx, loc.Bucket); err != nil {
		return s3bridge.Result{}, err
	}
	obj, err := j.store.Stat(ctx, loc.Bucket, loc.Key)
	if err != nil {
		return s3bridge.Result{}, s3bridge.ByServer("s3:GetObject", loc, err)
	}
	if existing != nil && !overwrite {
		if !placedBy(existing, obj) {
			return s3bridge.Result{}, fmt.Errorf("%s: %w (overwrite_file is 0)", target, s3bridge.ErrExists)
		}
		// The killed attempt finished the download; it is not done twice.
		j.rep.Logf(s3bridge.LevelInfo, "%s is already in place: an earlier attempt of this task downloaded it (%d bytes, modified %s as the object)",
			target, obj.Size, obj.LastModified.UTC().Format(time.RFC3339))
		info := fmt.Sprintf("downloaded %s (%d bytes) to %s", loc, obj.Size, filepath.Join(area.Path, rel))
		return s3bridge.Result{Info: info, Files: 1, Bytes: obj.Size}, nil
	}
	j.removePartials(area, []string{rel})
	j.total.Store(obj.Size)
	if d, _ := splitDir(rel); d != "" {
		if err := area.mkdirAll(strings.TrimSuffix(d, "/")); err != nil {
			return s3bridge.Result{}, fmt.Errorf("create folder for %s: %w", target, err)
		}
	}
	if err := j.fetch(ctx, area, loc, obj, rel, false, overwrite); err != nil {
		return s3bridge.Result{}, err
	}
	if err := j.syncPending(area); err != nil {
		return s3bridge.Result{}, err
	}
	info := fmt.Sprintf("downloaded %s (%d bytes) to %s", loc, obj.Size, filepath.Join(area.Path, rel))
	return s3bridge.Result{Info: info, Files: 1, Bytes: obj.Size}, nil
}

// uploadFile is SQL Server's rds_upload_to_s3: one file of the area to an
// object. It returns only after S3 confirmed the write.
func (j *job) uploadFile(ctx context.Context, p FileTransfer) (s3bridge.Result, error) {
	loc, err := s3bridge.ParseObjectURI(p.ARN)
	if err != nil {
		return s3bridge.Result{}, err
	}
	area, err := j.area()
	if err != nil {
		return s3bridge.Result{}, err
	}
	defer area.Close()
	rel, err := area.Resolve(p.FilePath)
	if err != nil {
		return s3bridge.Result{}, err
	}
	f, err := area.Root.Open(rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return s3bridge.Result{}, fmt.Errorf("%s: %w in the file area", p.FilePath, s3bridge.ErrNotFound)
		}
		return s3bridge.Result{}, fmt.Errorf("open %s: %w", p.FilePath, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return s3bridge.Result{}, fmt.Errorf("%s is not a regular file", p.FilePath)
	}
	if fi.Size() > j.set.MaxUploadBytes {
		return s3bridge.Result{}, fmt.Errorf("%s is %d bytes, over the %d-byte upload limit: %w", p.FilePath, fi.Size(), j.set.MaxUploadBytes, s3bridge.ErrLimit)
	}
	overwrite := p.Overwrite == 1
	if err := j.guard.Allow("s3:PutObject", loc.ARN(), nil); err != nil {
		return s3bridge.Result{}, err
	}
	if err := j.notPublic(ctx, loc.Bucket); err != nil {
		return s3bridge.Result{}, err
	}
	j.abortUploads(ctx, loc.Bucket, loc.Key)
	if !overwrite {
		// The early check is a courtesy (S3 enforces If-None-Match at the
		// end); a policy that denies reading only skips it. An object this
		// task wrote is a killed attempt's: the task's to replace.
		old, err := j.store.Stat(ctx, loc.Bucket, loc.Key)
		switch {
		case err == nil && old.WrittenBy(j.task) && uploadedFrom(old, fi):
			j.rep.Logf(s3bridge.LevelInfo, "%s is already uploaded: an earlier attempt of this task wrote it (%d bytes, ETag %s)", loc, old.Size, old.ETag)
			info := fmt.Sprintf("uploaded %s (%d bytes) to %s", filepath.Join(area.Path, rel), fi.Size(), loc)
			return s3bridge.Result{Info: info, Files: 1, Bytes: fi.Size()}, nil
		case err == nil && old.WrittenBy(j.task):
			j.rep.Logf(s3bridge.LevelInfo, "replacing %s, which an earlier attempt of this task wrote", loc)
			overwrite = true
		case err == nil:
			return s3bridge.Result{}, fmt.Errorf("%s: %w (overwrite_file is 0)", loc, s3bridge.ErrExists)
		case !errors.Is(err, s3bridge.ErrNotFound) && !errors.Is(err, s3bridge.ErrAccessDenied):
			return s3bridge.Result{}, err
		}
	}
	j.total.Store(fi.Size())
	obj, err := j.store.Upload(ctx, loc.Bucket, loc.Key, f, s3bridge.PutOptions{
		IfNoneMatch: !overwrite, Progress: j.tracker(), Metadata: s3bridge.WriterMetadata(j.task)})
	if err != nil {
		return s3bridge.Result{}, s3bridge.ByServer("s3:PutObject", loc, err)
	}
	j.rep.Logf(s3bridge.LevelInfo, "uploaded %s to %s (%d bytes, ETag %s)", p.FilePath, loc, obj.Size, obj.ETag)
	info := fmt.Sprintf("uploaded %s (%d bytes) to %s", filepath.Join(area.Path, rel), fi.Size(), loc)
	return s3bridge.Result{Info: info, Files: 1, Bytes: fi.Size()}, nil
}

// uploadedFrom reports whether obj, which this task wrote, holds the file
// as it is: the same size, and the file unchanged since the object was
// written (S3 keeps LastModified to the second). Then a retry keeps it
// rather than write a second version of the same bytes.
func uploadedFrom(obj s3bridge.Object, fi fs.FileInfo) bool {
	return obj.Size == fi.Size() && !obj.LastModified.IsZero() &&
		!fi.ModTime().Truncate(time.Second).After(obj.LastModified)
}

// placedBy reports whether the local file fi is the download of obj an
// earlier attempt put in place: fetch gives what it downloads the object's
// LastModified as its modification time, which a file of other origin
// won't have to the nanosecond, along with the same size.
func placedBy(fi fs.FileInfo, obj s3bridge.Object) bool {
	return fi.Mode().IsRegular() && fi.Size() == obj.Size && !obj.LastModified.IsZero() && fi.ModTime().Equal(obj.LastModified)
}

// splitDir splits a slash path into its directory (with a trailing slash,
// or empty) and its last element.
func splitDir(rel string) (string, string) {
	rel = filepath.ToSlash(rel)
	i := strings.LastIndex(rel, "/")
	return rel[:i+1], rel[i+1:]
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
