package transfer_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/sqlite"
	"github.com/s3bridge/s3bridge/internal/tasktest"
	"github.com/s3bridge/s3bridge/transfer"
)

// memStore is an in-memory transfer.ObjectStore holding keys S3 servers
// such as MinIO refuse to store ("..", "../x", backslashes), so the
// transfer's own defences are what the tests see.
type memStore struct {
	mu      sync.Mutex
	objects map[string][]byte
}

var _ transfer.ObjectStore = (*memStore)(nil)

func (m *memStore) List(_ context.Context, _, prefix, delimiter string) ([]s3bridge.Object, []string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var objs []s3bridge.Object
	var prefixes []string
	for k, b := range m.objects {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if i := strings.Index(rest, delimiter); delimiter != "" && i >= 0 {
			if p := prefix + rest[:i+len(delimiter)]; !slices.Contains(prefixes, p) {
				prefixes = append(prefixes, p)
			}
			continue
		}
		objs = append(objs, s3bridge.Object{Key: k, Size: int64(len(b)), ETag: `"e"`})
	}
	slices.SortFunc(objs, func(a, b s3bridge.Object) int { return strings.Compare(a.Key, b.Key) })
	return objs, prefixes, nil
}

func (m *memStore) Stat(_ context.Context, bucket, key string) (s3bridge.Object, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objects[key]
	if !ok {
		return s3bridge.Object{}, fmt.Errorf("s3://%s/%s: %w", bucket, key, s3bridge.ErrNotFound)
	}
	return s3bridge.Object{Key: key, Size: int64(len(b)), ETag: `"e"`}, nil
}

func (m *memStore) Download(ctx context.Context, bucket, key string, w io.WriterAt, progress func(int64)) (s3bridge.Object, error) {
	o, err := m.Stat(ctx, bucket, key)
	if err != nil {
		return o, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err = w.WriteAt(m.objects[key], 0)
	return o, err
}

func (m *memStore) Open(ctx context.Context, bucket, key string) (io.ReadCloser, s3bridge.Object, error) {
	o, err := m.Stat(ctx, bucket, key)
	if err != nil {
		return nil, o, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return io.NopCloser(bytes.NewReader(m.objects[key])), o, nil
}

func (m *memStore) Upload(_ context.Context, _, key string, r io.Reader, _ s3bridge.PutOptions) (s3bridge.Object, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return s3bridge.Object{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[key] = b
	return s3bridge.Object{Key: key, Size: int64(len(b))}, nil
}

// hostile is a SQLite instance whose file area and DATA_PUMP_DIR sit in
// root next to a directory outside them, served from a memStore.
type hostile struct {
	t                         *testing.T
	store                     *memStore
	root, area, pump, outside string
	run                       func(s3bridge.Task) s3bridge.Task
}

func newHostile(t *testing.T, objects map[string][]byte) *hostile {
	t.Helper()
	root := t.TempDir()
	h := &hostile{t: t, store: &memStore{objects: objects}, root: root,
		area: filepath.Join(root, "area"), pump: filepath.Join(root, "pump"), outside: filepath.Join(root, "outside")}
	for _, d := range []string{h.area, h.pump, h.outside} {
		must(t, os.MkdirAll(d, 0o755))
	}
	in, err := sqlite.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	must(t, err)
	t.Cleanup(func() { in.Close() })
	must(t, in.Attach(t.Context(), s3bridge.Settings{Area: h.area, Directories: map[string]string{"DATA_PUMP_DIR": h.pump}, MaxFiles: 50}))
	a := newAgent(h.store)
	h.run = func(task s3bridge.Task) s3bridge.Task { return tasktest.Run(t, in, a, task) }
	return h
}

// files lists every file and link under root, relative to it.
func (h *hostile) files() []string {
	var out []string
	filepath.WalkDir(h.root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(h.root, p)
			out = append(out, rel)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// TestHostileKeysOnDownload downloads objects whose keys hold "..",
// absolute paths, backslashes and drive letters (issue 8): a key whose
// last element can't be a file name in the directory is refused, naming
// it, and so is a key that reads as a path elsewhere (absolute, a ".."
// element), though only its last element would be used; nothing is ever
// written anywhere else.
func TestHostileKeysOnDownload(t *testing.T) {
	refused := []string{"..", "a/..", `a\b.txt`, `..\..\x.txt`, "dir/C:evil.txt", "a/.", "nul\x00.txt"}
	elsewhere := []string{"../x.txt", "a/../../y.txt", "/abs/z.txt", "//w.txt"}
	landed := map[string]string{"ok/v.txt": "v.txt"}
	objects := map[string][]byte{}
	for _, k := range append(refused, elsewhere...) {
		objects[k] = []byte("refused " + k)
	}
	for k := range landed {
		objects[k] = []byte("landed " + k)
	}

	t.Run("file", func(t *testing.T) {
		h := newHostile(t, objects)
		for _, k := range refused {
			done := h.run(transfer.DownloadFileTask("s3://bkt/"+k, "", true))
			if done.Lifecycle != s3bridge.Failed || !strings.Contains(done.TaskInfo, "does not name a file") {
				t.Errorf("key %q: %s %q, want ERROR: does not name a file", k, done.Lifecycle, done.TaskInfo)
			}
		}
		for _, k := range elsewhere {
			done := h.run(transfer.DownloadFileTask("s3://bkt/"+k, "", true))
			if done.Lifecycle != s3bridge.Failed || !strings.Contains(done.TaskInfo, "reads as a path outside its prefix") {
				t.Errorf("key %q: %s %q, want ERROR: reads as a path outside its prefix", k, done.Lifecycle, done.TaskInfo)
			}
		}
		var want []string
		for k, name := range landed {
			done := h.run(transfer.DownloadFileTask("s3://bkt/"+k, "", true))
			if done.Lifecycle != s3bridge.Success {
				t.Errorf("key %q: %s %q", k, done.Lifecycle, done.TaskInfo)
				continue
			}
			if got := readFile(t, filepath.Join(h.area, name)); got != "landed "+k {
				t.Errorf("key %q: area/%s holds %q", k, name, got)
			}
			want = append(want, filepath.Join("area", name))
		}
		slices.Sort(want)
		if got := h.files(); !slices.Equal(got, want) {
			t.Errorf("files after the downloads: %v, want only %v", got, want)
		}
	})
	t.Run("directory", func(t *testing.T) {
		h := newHostile(t, objects)
		// Oracle's download takes the objects directly under the prefix:
		// with "", the keys without a slash, ".." and the backslashed ones
		// among them. One name that can't stay refuses the whole task.
		done := h.run(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: "bkt", Directory: "DATA_PUMP_DIR", S3Prefix: ""}))
		if done.Lifecycle != s3bridge.Failed || !strings.Contains(done.TaskInfo, "does not name a file") {
			t.Errorf("prefix \"\": %s %q, want ERROR: does not name a file", done.Lifecycle, done.TaskInfo)
		}
		if got := h.files(); len(got) != 0 {
			t.Errorf("a refused download wrote %v", got)
		}
		for _, prefix := range []string{"a/../../", "/abs/", "../", "//"} {
			done := h.run(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: "bkt", Directory: "DATA_PUMP_DIR", S3Prefix: prefix}))
			if done.Lifecycle != s3bridge.Failed || !strings.Contains(done.TaskInfo, "reads as a path outside its prefix") {
				t.Errorf("prefix %q: %s %q, want ERROR: reads as a path outside its prefix", prefix, done.Lifecycle, done.TaskInfo)
			}
		}
		done = h.run(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: "bkt", Directory: "DATA_PUMP_DIR", S3Prefix: "ok/"}))
		if done.Lifecycle != s3bridge.Success {
			t.Errorf("prefix ok/: %s %q", done.Lifecycle, done.TaskInfo)
		}
		want := []string{"pump/v.txt"}
		if got := h.files(); !slices.Equal(got, want) {
			t.Errorf("files after the downloads: %v, want only %v", got, want)
		}
	})
}

// TestSymlinkInArea plants symlinks in the file area, to a file and to a
// directory outside it, and in DATA_PUMP_DIR: reading (upload), writing
// (download, with overwrite) and deleting through them are refused, and
// neither the links nor what they point to change.
func TestSymlinkInArea(t *testing.T) {
	h := newHostile(t, map[string][]byte{"in/new.csv": []byte("from S3"), "in/evil.dmp": []byte("from S3")})
	secret := filepath.Join(h.outside, "secret.csv")
	writeFile(t, secret, "outside")
	must(t, os.Symlink(secret, filepath.Join(h.area, "evil.csv")))
	must(t, os.Symlink(h.outside, filepath.Join(h.area, "link")))
	must(t, os.Symlink(secret, filepath.Join(h.pump, "evil.dmp")))

	for _, p := range []string{"evil.csv", "link/secret.csv", "link/new.csv"} {
		for _, task := range []s3bridge.Task{
			transfer.UploadFileTask(p, "s3://bkt/out/x.csv", true),
			transfer.DownloadFileTask("s3://bkt/in/new.csv", p, true),
			transfer.DeleteTask(p, true),
		} {
			done := h.run(task)
			if done.Lifecycle != s3bridge.Failed || !strings.Contains(done.TaskInfo, "symlink") {
				t.Errorf("%s %q: %s %q, want ERROR naming the symlink", task.Type, p, done.Lifecycle, done.TaskInfo)
			}
		}
	}
	// Oracle's directory transfers: the link is no regular file to upload,
	// and an existing name (the link) is skipped, not written through.
	h.run(transfer.UploadDirectoryTask(transfer.DirectoryUpload{Bucket: "bkt", S3Prefix: "up/", Directory: "DATA_PUMP_DIR"}))
	h.run(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: "bkt", Directory: "DATA_PUMP_DIR", S3Prefix: "in/"}))

	if got := readFile(t, secret); got != "outside" {
		t.Errorf("the file outside the area changed: %q", got)
	}
	for _, l := range []string{filepath.Join(h.area, "evil.csv"), filepath.Join(h.area, "link"), filepath.Join(h.pump, "evil.dmp")} {
		if fi, err := os.Lstat(l); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer the planted symlink (%v)", l, err)
		}
	}
	if _, err := os.Stat(filepath.Join(h.outside, "new.csv")); err == nil {
		t.Error("a download went through the linked directory")
	}
	for k := range h.store.objects {
		if strings.HasPrefix(k, "out/") || k == "up/evil.dmp" {
			t.Errorf("an upload read through a symlink: %s", k)
		}
	}
}
