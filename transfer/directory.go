package transfer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format/compress"
)

// directory opens a registered directory object.
func (j *job) directory(name string, create bool) (*Dir, error) {
	path, ok := j.set.Directory(name)
	if !ok {
		names := make([]string, 0, len(j.set.Directories))
		for n := range j.set.Directories {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("directory object %q is not registered (registered: %s)", name, strings.Join(names, ", "))
	}
	return OpenDir(path, create, j.perm)
}

// uploadDirectory is Oracle's upload_to_s3: the regular files directly in
// the directory whose names start with p_prefix go to p_s3_prefix + name.
func (j *job) uploadDirectory(ctx context.Context, p DirectoryUpload) (s3bridge.Result, error) {
	if p.Bucket == "" {
		return s3bridge.Result{}, fmt.Errorf("p_bucket_name is required")
	}
	if p.CompressionLevel < 0 || p.CompressionLevel > 9 {
		return s3bridge.Result{}, fmt.Errorf("p_compression_level %d: want 0 (none) to 9", p.CompressionLevel)
	}
	bucket := s3bridge.Location{Bucket: p.Bucket}
	if err := j.notPublic(ctx, p.Bucket); err != nil {
		return s3bridge.Result{}, err
	}
	dir, err := j.directory(p.Directory, false)
	if err != nil {
		return s3bridge.Result{}, err
	}
	defer dir.Close()
	entries, err := fs.ReadDir(dir.Root.FS(), ".")
	if err != nil {
		return s3bridge.Result{}, fmt.Errorf("read directory %s: %w", p.Directory, err)
	}
	var files []fs.FileInfo
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), p.Prefix) {
			continue
		}
		if !e.Type().IsRegular() {
			if !e.IsDir() {
				j.rep.Logf(s3bridge.LevelWarn, "skipped %s: not a regular file", e.Name())
			}
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return s3bridge.Result{}, fmt.Errorf("stat %s in %s: %w", e.Name(), p.Directory, err)
		}
		if fi.Size() > j.set.MaxUploadBytes {
			return s3bridge.Result{}, fmt.Errorf("%s is %d bytes, over the %d-byte upload limit: %w", e.Name(), fi.Size(), j.set.MaxUploadBytes, s3bridge.ErrLimit)
		}
		files = append(files, fi)
		j.total.Add(fi.Size())
	}
	if len(files) > s3bridge.MaxFilesPerTransfer {
		return s3bridge.Result{}, fmt.Errorf("%d files match p_prefix %q in %s, more than the %d one call may upload: %w",
			len(files), p.Prefix, p.Directory, s3bridge.MaxFilesPerTransfer, s3bridge.ErrLimit)
	}
	for _, fi := range files {
		if err := j.guard.Allow("s3:PutObject", bucket.At(uploadKey(p, fi.Name())).ARN(), nil); err != nil {
			return s3bridge.Result{}, err
		}
	}
	if j.takeover() {
		keys := make([]string, len(files))
		for i, fi := range files {
			keys[i] = uploadKey(p, fi.Name())
		}
		j.abortUploads(ctx, p.Bucket, keys...)
	}
	j.rep.Logf(s3bridge.LevelInfo, "uploading %d files (%d bytes) from %s to s3://%s/%s", len(files), j.total.Load(), p.Directory, p.Bucket, p.S3Prefix)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(j.concurrency)
	for _, fi := range files {
		g.Go(func() error { return j.uploadOne(gctx, dir, fi.Name(), p) })
	}
	if err := g.Wait(); err != nil {
		return s3bridge.Result{}, err
	}
	info := fmt.Sprintf("uploaded %d files (%d bytes) from %s to s3://%s/%s", len(files), j.total.Load(), p.Directory, p.Bucket, p.S3Prefix)
	return s3bridge.Result{Info: info, Files: int64(len(files)), Bytes: j.total.Load()}, nil
}

func (j *job) uploadOne(ctx context.Context, dir *Dir, name string, p DirectoryUpload) (err error) {
	f, err := dir.Root.Open(name)
	if err != nil {
		return fmt.Errorf("open %s in %s: %w", name, p.Directory, err)
	}
	defer f.Close()
	key := uploadKey(p, name)
	var body io.Reader = f
	opts := s3bridge.PutOptions{Progress: j.tracker(), Metadata: s3bridge.WriterMetadata(j.task)}
	if p.CompressionLevel > 0 {
		// Progress counts the file's bytes read, not compressed bytes sent.
		zr := gzipStream(&countingReader{r: f, add: j.add}, p.CompressionLevel)
		defer func() { zr.CloseWithError(err) }()
		body = zr
		opts.Progress = nil
	}
	obj, err := j.store.Upload(ctx, p.Bucket, key, body, opts)
	if err != nil {
		return fmt.Errorf("upload %s: %w", name, s3bridge.ByServer("s3:PutObject", s3bridge.Location{Bucket: p.Bucket, Key: key}, err))
	}
	j.rep.Logf(s3bridge.LevelInfo, "uploaded %s to s3://%s/%s (%d bytes, ETag %s)", name, p.Bucket, key, obj.Size, obj.ETag)
	return nil
}

// uploadKey is Oracle's key for a file: p_s3_prefix + name, plus .gz when
// compressed.
func uploadKey(p DirectoryUpload, name string) string {
	if p.CompressionLevel > 0 {
		return p.S3Prefix + name + ".gz"
	}
	return p.S3Prefix + name
}

// gzipStream compresses r on the fly; the pipe keeps memory flat. The
// caller must call Close, with the upload's error if it has one, once the
// upload returns: an upload that stopped reading early would otherwise
// leave the compressing goroutine blocked on the pipe forever.
func gzipStream(r io.Reader, level int) *gzipReader {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		zw, err := compress.NewWriter(pw, compress.Gzip, level)
		if err == nil {
			_, err = io.Copy(zw, r)
			if cerr := zw.Close(); err == nil {
				err = cerr
			}
		}
		pw.CloseWithError(err)
	}()
	return &gzipReader{PipeReader: pr, done: done}
}

// gzipReader is gzipStream's output.
type gzipReader struct {
	*io.PipeReader
	done chan struct{} // closed when the compressing goroutine has returned
}

// CloseWithError stops the compressor, whose next write to the pipe fails
// with err (io.ErrClosedPipe when nil), and waits for it to return, so
// nothing reads the source file after the caller closes it.
func (g *gzipReader) CloseWithError(err error) error {
	g.PipeReader.CloseWithError(err)
	<-g.done
	return nil
}

// Close is CloseWithError(nil).
func (g *gzipReader) Close() error { return g.CloseWithError(nil) }

// downloadDirectory is Oracle's download_from_s3: only the objects directly
// under p_s3_prefix's last "/" whose keys start with the prefix, never
// deeper; an existing local file of the same name is skipped.
func (j *job) downloadDirectory(ctx context.Context, p DirectoryDownload) (s3bridge.Result, error) {
	if p.Bucket == "" {
		return s3bridge.Result{}, fmt.Errorf("p_bucket_name is required")
	}
	gz := strings.EqualFold(p.Decompression, "GZIP")
	if !gz && !strings.EqualFold(p.Decompression, "NONE") {
		return s3bridge.Result{}, fmt.Errorf("p_decompression_format %q: want NONE or GZIP", p.Decompression)
	}
	if p.MaxDecompressed < 0 {
		return s3bridge.Result{}, fmt.Errorf("max_decompressed %d: must be positive (0 means the default, %d bytes)", p.MaxDecompressed, int64(DefaultMaxDecompressed))
	}
	j.maxDecompressed = p.MaxDecompressed
	bucket := s3bridge.Location{Bucket: p.Bucket}
	if err := j.notPublic(ctx, p.Bucket); err != nil {
		return s3bridge.Result{}, err
	}
	listCond := map[string][]string{"s3:prefix": {p.S3Prefix}, "s3:delimiter": {"/"}}
	if err := j.guard.Allow("s3:ListBucket", bucket.ARN(), listCond); err != nil {
		return s3bridge.Result{}, err
	}
	objects, _, err := j.store.List(ctx, p.Bucket, p.S3Prefix, "/")
	if err != nil {
		return s3bridge.Result{}, s3bridge.ByServer("s3:ListBucket", bucket, err)
	}
	type item struct {
		obj  s3bridge.Object
		name string
	}
	var items []item
	for _, o := range objects {
		if strings.HasSuffix(o.Key, "/") { // a "folder" marker, not a file
			continue
		}
		name, err := LocalName(o.Key)
		if err != nil {
			return s3bridge.Result{}, err
		}
		if gz {
			name = strings.TrimSuffix(name, ".gz")
		}
		if err := j.guard.Allow("s3:GetObject", bucket.At(o.Key).ARN(), nil); err != nil {
			return s3bridge.Result{}, err
		}
		items = append(items, item{o, name})
		j.total.Add(o.Size)
	}
	if len(items) > s3bridge.MaxFilesPerTransfer {
		return s3bridge.Result{}, fmt.Errorf("%d objects under s3://%s/%s, more than the %d one call may download: %w",
			len(items), p.Bucket, p.S3Prefix, s3bridge.MaxFilesPerTransfer, s3bridge.ErrLimit)
	}
	if len(items) == 0 && strings.EqualFold(p.ErrorOnZero, "TRUE") {
		return s3bridge.Result{}, fmt.Errorf("no objects to download under s3://%s/%s", p.Bucket, p.S3Prefix)
	}
	dir, err := j.directory(p.Directory, true)
	if err != nil {
		return s3bridge.Result{}, err
	}
	defer dir.Close()
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.name
	}
	j.removePartials(dir, names)
	var skipped, fetched atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(j.concurrency)
	for _, it := range items {
		g.Go(func() error {
			if _, err := dir.Root.Lstat(it.name); err == nil {
				skipped.Add(1)
				j.add(it.obj.Size)
				j.rep.Logf(s3bridge.LevelInfo, "skipped %s: %s already exists in %s", it.obj.Key, it.name, p.Directory)
				return nil
			}
			if err := j.fetch(gctx, dir, bucket, it.obj, it.name, gz, false); err != nil {
				return err
			}
			fetched.Add(it.obj.Size)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return s3bridge.Result{}, err
	}
	if err := j.syncPending(dir); err != nil {
		return s3bridge.Result{}, err
	}
	n := int64(len(items)) - skipped.Load()
	info := fmt.Sprintf("downloaded %d files from s3://%s/%s to %s, skipped %d existing", n, p.Bucket, p.S3Prefix, p.Directory, skipped.Load())
	return s3bridge.Result{Info: info, Files: n, Bytes: fetched.Load()}, nil
}

// fetch downloads one object into dir/rel through a temporary file that is
// renamed into place only when complete, so a failed or cancelled download
// leaves nothing behind. Without overwrite, an existing target fails.
func (j *job) fetch(ctx context.Context, dir *Dir, from s3bridge.Location, obj s3bridge.Object, rel string, gunzip, overwrite bool) (err error) {
	tmp := tempName(rel)
	f, err := dir.create(tmp)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	defer func() {
		f.Close()
		if err != nil {
			dir.Root.Remove(tmp)
		}
	}()
	switch {
	case gunzip:
		err = j.gunzipTo(ctx, f, from.Bucket, obj.Key, cmp.Or(j.maxDecompressed, DefaultMaxDecompressed))
	case obj.Size < smallObject:
		err = j.streamTo(ctx, f, from.Bucket, obj.Key)
	default:
		_, err = j.store.Download(ctx, from.Bucket, obj.Key, f, j.tracker())
	}
	if err != nil {
		return fmt.Errorf("download %s: %w", from.At(obj.Key), s3bridge.ByServer("s3:GetObject", from.At(obj.Key), err))
	}
	if err := j.syncFile(f, obj.Size); err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	// The object's time, as cp -p would, also lets a later attempt of the
	// task tell the file it placed (placedBy).
	if !obj.LastModified.IsZero() {
		if err := dir.Root.Chtimes(tmp, obj.LastModified, obj.LastModified); err != nil {
			return fmt.Errorf("set the time of %s: %w", rel, err)
		}
	}
	if err := place(dir, tmp, rel, overwrite); err != nil {
		return err
	}
	j.rep.Logf(s3bridge.LevelInfo, "downloaded %s to %s (%d bytes)", from.At(obj.Key), rel, obj.Size)
	return nil
}

// smallObject is the size under which one streaming GET beats parallel
// ranges, which cost a HEAD first and a buffer per part.
const smallObject = 8 << 20

func (j *job) streamTo(ctx context.Context, w io.Writer, bucket, key string) error {
	body, _, err := j.store.Open(ctx, bucket, key)
	if err != nil {
		return err
	}
	defer body.Close()
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	// A large buffer turns a small object into one write instead of many
	// small ones as the HTTP body trickles in.
	for {
		n, err := io.ReadFull(body, *buf)
		if n > 0 {
			if _, werr := w.Write((*buf)[:n]); werr != nil {
				return werr
			}
			j.add(int64(n))
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// DefaultMaxDecompressed caps each gunzipped download unless the task says
// otherwise; the same value as load.DefaultMaxDecompressed, so a
// decompression bomb stops before it fills the disk.
const DefaultMaxDecompressed = 1 << 40

// gunzipTo writes the gunzipped object to w, failing with an error that
// wraps compress.ErrTooLarge past limit bytes.
func (j *job) gunzipTo(ctx context.Context, w io.Writer, bucket, key string, limit int64) error {
	body, _, err := j.store.Open(ctx, bucket, key)
	if err != nil {
		return err
	}
	defer body.Close()
	// "gzip" as the content encoding makes anything without another
	// codec's magic or extension read as gzip, so plain data fails as
	// bad gzip rather than being copied.
	zr, codec, err := compress.Decompress(&countingReader{r: body, add: j.add}, key, "gzip", limit)
	if err == nil && codec != compress.Gzip {
		zr.Close()
		err = fmt.Errorf("the object is %s, not gzip", codec)
	}
	if errors.Is(err, compress.ErrNeedsReaderAt) {
		err = errors.New("the object is a zip archive, not gzip")
	}
	if err != nil {
		return fmt.Errorf("gunzip: %w", err)
	}
	defer zr.Close()
	if _, err := io.Copy(w, zr); err != nil {
		return fmt.Errorf("gunzip: %w", err)
	}
	return nil
}

// place moves a finished temporary file to its name. Without overwrite it
// links, which fails atomically if the name was taken meanwhile.
func place(dir *Dir, tmp, rel string, overwrite bool) error {
	if overwrite {
		if err := dir.Root.Rename(tmp, rel); err != nil {
			return fmt.Errorf("rename into %s: %w", rel, err)
		}
		return nil
	}
	if err := dir.Root.Link(tmp, rel); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w (overwrite not requested)", rel, s3bridge.ErrExists)
		}
		return fmt.Errorf("link into %s: %w", rel, err)
	}
	return dir.Root.Remove(tmp)
}

func tempName(rel string) string {
	d, f := splitDir(rel)
	return d + ".s3bridge-" + f + "-" + randomSuffix() + ".part"
}

type countingReader struct {
	r   io.Reader
	add func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.add(int64(n))
	return n, err
}
