package transfer_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/sqlite"
	"github.com/s3bridge/s3bridge/internal/tasktest"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/s3store"
	"github.com/s3bridge/s3bridge/transfer"
)

// BenchmarkDownload runs download tasks as the CLI does (SQLite instance,
// in-process agent) on the test MinIO: one large file, and many small ones
// into a directory. Run with -cpuprofile to see where a download's time goes;
// bench/transfer.sh compares the CLI with rclone.
func BenchmarkDownload(b *testing.B) {
	m := testenv.S3(b)
	bucket := m.Bucket(b)
	store, err := s3store.New(b.Context(), s3store.Config{Endpoint: m.Endpoint, Region: m.Region,
		AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}, nil)
	must(b, err)
	in, err := sqlite.Open(b.Context(), "sqlite://"+filepath.Join(b.TempDir(), "b.db"))
	must(b, err)
	b.Cleanup(func() { in.Close() })
	area, dl := b.TempDir(), b.TempDir()
	set := s3bridge.Settings{Area: area, Directories: map[string]string{"DL": dl}, MaxFiles: 100000}
	must(b, in.Attach(b.Context(), set))
	a := newAgent(store)
	put := func(key string, size int) {
		_, err := store.Upload(b.Context(), bucket, key, bytes.NewReader(bytes.Repeat([]byte{byte(size)}, size)), s3bridge.PutOptions{})
		must(b, err)
	}
	ok := func(task s3bridge.Task) {
		if done := tasktest.Run(b, in, a, task); done.Lifecycle != s3bridge.Success {
			b.Fatalf("task %d: %s %q", done.ID, done.Lifecycle, done.TaskInfo)
		}
	}

	b.Run("1x256MiB file", func(b *testing.B) {
		const size = 256 << 20
		put("big/big.bin", size)
		b.SetBytes(size)
		for b.Loop() {
			ok(transfer.DownloadFileTask(fmt.Sprintf("arn:aws:s3:::%s/big/big.bin", bucket), "big.dat", true))
		}
	})
	b.Run("2000x64KiB directory", func(b *testing.B) {
		const n, size = 2000, 64 << 10
		for i := range n {
			put(fmt.Sprintf("small/f%04d.dat", i), size)
		}
		b.SetBytes(n * size)
		for b.Loop() {
			b.StopTimer()
			must(b, os.RemoveAll(dl))
			must(b, os.Mkdir(dl, 0o755))
			b.StartTimer()
			ok(transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: bucket, Directory: "DL", S3Prefix: "small/"}))
		}
	})
}
