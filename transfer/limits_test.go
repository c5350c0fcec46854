//go:build unix

package transfer_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/s3bridge/s3bridge/transfer"
)

// TestGunzipCap: a gzip bomb downloaded with GZIP decompression stops at
// the cap with the loads' error naming the object, and leaves no file, not
// even a partial one; an object within the cap still downloads.
func TestGunzipCap(t *testing.T) {
	h := newHarness(t, databases[0].Open)
	var bomb bytes.Buffer
	zw, err := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	must(t, err)
	zeros := make([]byte, 1<<20)
	for range 64 { // 64 MiB of zeros in a few hundred KiB
		zw.Write(zeros)
	}
	must(t, zw.Close())
	h.put("bomb/big.csv.gz", bomb.String())
	var small bytes.Buffer
	zw = gzip.NewWriter(&small)
	zw.Write(zeros[:512<<10])
	must(t, zw.Close())
	h.put("small/ok.csv.gz", small.String())

	const limit = 1 << 20
	d := h.fails(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: h.bucket, Directory: "DATA_PUMP_DIR", S3Prefix: "bomb/",
		Decompression: "GZIP", MaxDecompressed: limit}),
		"s3://"+h.bucket+"/bomb/big.csv.gz", "decompressed size exceeds the limit", "more than "+strconv.Itoa(limit)+" bytes")
	if got := listDir(t, h.pump); len(got) != 0 {
		t.Errorf("task %d left %v in the directory, want nothing", d.ID, got)
	}
	h.ok(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: h.bucket, Directory: "DATA_PUMP_DIR", S3Prefix: "small/",
		Decompression: "GZIP", MaxDecompressed: limit}))
	if fi, err := os.Stat(filepath.Join(h.pump, "ok.csv")); err != nil || fi.Size() != 512<<10 {
		t.Errorf("within the cap: got %v, %v; want a 512 KiB file", fi, err)
	}
	h.fails(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: h.bucket, Directory: "DATA_PUMP_DIR", S3Prefix: "small/",
		Decompression: "GZIP", MaxDecompressed: -1}), "max_decompressed -1")
}

// TestFilePermissions: by default what downloads create honours the umask
// like ordinary tools (0644 files, 0755 directories under umask 022), so a
// database server running as another user can read it; with file_mode and
// file_group set, files and directories get exactly that mode (directories
// with x where r is set) and group, whatever the umask.
func TestFilePermissions(t *testing.T) {
	old := syscall.Umask(0o022) // process-wide: this test must not run in parallel
	t.Cleanup(func() { syscall.Umask(old) })
	h := newHarness(t, databases[0].Open)
	h.put("p/a.csv", "x\n")
	newDir := filepath.Join(t.TempDir(), "made", "here")
	h.set.Directories["NEW"] = newDir
	h.attach()
	h.ok(transfer.DownloadFileTask("s3://"+h.bucket+"/p/a.csv", "sub/dir/a.csv", false))
	h.ok(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: h.bucket, Directory: "NEW", S3Prefix: "p/"}))
	for path, want := range map[string]fs.FileMode{
		filepath.Join(h.area, "sub"): 0o755, filepath.Join(h.area, "sub/dir"): 0o755, filepath.Join(h.area, "sub/dir/a.csv"): 0o644,
		filepath.Dir(newDir): 0o755, newDir: 0o755, filepath.Join(newDir, "a.csv"): 0o644,
	} {
		checkPerm(t, path, want, -1)
	}

	group := otherGroup(t)
	gid, err := strconv.Atoi(group.Gid)
	must(t, err)
	syscall.Umask(0o077) // a strict umask must not strip the configured bits
	newDir = filepath.Join(t.TempDir(), "made", "here")
	h.set.Directories["NEW2"] = newDir
	h.set.FileMode, h.set.FileGroup = "0640", group.Name
	h.attach()
	h.ok(transfer.DownloadFileTask("s3://"+h.bucket+"/p/a.csv", "sub2/dir/a.csv", false))
	h.ok(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: h.bucket, Directory: "NEW2", S3Prefix: "p/"}))
	for path, want := range map[string]fs.FileMode{
		filepath.Join(h.area, "sub2"): 0o750, filepath.Join(h.area, "sub2/dir"): 0o750, filepath.Join(h.area, "sub2/dir/a.csv"): 0o640,
		filepath.Dir(newDir): 0o750, newDir: 0o750, filepath.Join(newDir, "a.csv"): 0o640,
	} {
		checkPerm(t, path, want, gid)
	}

	h.set.FileGroup = "s3bridge-no-such-group"
	h.attach()
	h.fails(transfer.DownloadFileTask("s3://"+h.bucket+"/p/a.csv", "c.csv", false), `file_group: group "s3bridge-no-such-group" does not exist`)
}

func checkPerm(t *testing.T, path string, want fs.FileMode, gid int) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %04o, want %04o", path, got, want)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); gid >= 0 && ok && int(st.Gid) != gid {
		t.Errorf("%s: group %d, want %d", path, st.Gid, gid)
	}
}

// otherGroup returns a group the test process may give files to, other
// than its primary group, so a change of group shows.
func otherGroup(t *testing.T) *user.Group {
	t.Helper()
	var ids []string
	if os.Geteuid() == 0 {
		for _, name := range []string{"daemon", "bin", "sys", "adm", "users", "nogroup"} {
			if g, err := user.LookupGroup(name); err == nil {
				ids = append(ids, g.Gid)
			}
		}
	} else {
		gids, _ := os.Getgroups() // a non-root process may only use its own groups
		for _, id := range gids {
			ids = append(ids, strconv.Itoa(id))
		}
	}
	for _, id := range ids {
		if id == strconv.Itoa(os.Getegid()) {
			continue
		}
		if g, err := user.LookupGroupId(id); err == nil {
			return g
		}
	}
	t.Fatal("no group other than this process's primary group to give files to: run as root, or as a member of a second group")
	return nil
}
