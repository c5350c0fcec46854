package s3store

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// BenchmarkDownloadFile downloads a 256 MiB object into a file with the
// default part size and concurrency, the path download-file takes; run with
// -cpuprofile to see where a large download spends its time.
func BenchmarkDownloadFile(b *testing.B) {
	m := testenv.S3(b)
	bucket := m.Bucket(b)
	c := newClient(b, minioConfig(m))
	const size = 256 << 20
	data := randomBytes(size, 14)
	if _, err := c.Upload(b.Context(), bucket, "big.bin", bytes.NewReader(data), s3bridge.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	b.SetBytes(size)
	b.ResetTimer()
	for i := range b.N {
		f, err := os.Create(filepath.Join(dir, "big.bin"))
		if err != nil {
			b.Fatal(err)
		}
		obj, err := c.Download(b.Context(), bucket, "big.bin", f, nil)
		if err != nil {
			b.Fatalf("download %d: %v", i, err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		if obj.Size != size {
			b.Fatalf("size %d, want %d", obj.Size, size)
		}
	}
}
