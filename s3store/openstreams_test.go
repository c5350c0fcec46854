package s3store

import (
	"io"
	"runtime"
	"sync"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestManyOpenStreams: a stream upload that has not yet filled a part
// holds a small buffer, not a whole part: a pipeline keeps a file open
// per table it writes, and 40 tables must not cost 40 parts of memory.
// Each upload still gets all its bytes, small ones in one PutObject, one
// larger than a part in a multipart upload.
func TestManyOpenStreams(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	c := newClient(t, minioConfig(m)) // parts of DefaultPartSize
	const n = 40
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	type stream struct {
		w    io.WriteCloser
		data []byte
		done chan error
	}
	streams := make([]stream, n)
	for i := range streams {
		size := 10_000 + i
		if i == 0 {
			size = DefaultPartSize + 1<<20 // crosses a part
		}
		pr, pw := io.Pipe()
		s := stream{w: pw, data: randomBytes(size, uint64(i)), done: make(chan error, 1)}
		go func() {
			_, err := c.Upload(t.Context(), bucket, streamKey(i), onlyReader{pr}, s3bridge.PutOptions{})
			pr.CloseWithError(err)
			s.done <- err
		}()
		if _, err := pw.Write(s.data[:1000]); err != nil { // the upload has started
			t.Fatal(err)
		}
		streams[i] = s
	}
	var open runtime.MemStats
	runtime.ReadMemStats(&open)
	// What the open uploads took, measured before the large one has a
	// part's worth: at most 1 MiB each.
	if grew := open.TotalAlloc - before.TotalAlloc; grew > n<<20 {
		t.Errorf("%d open stream uploads allocated %d MiB; want at most %d", n, grew>>20, n)
	}
	var wg sync.WaitGroup
	for _, s := range streams {
		wg.Go(func() {
			s.w.Write(s.data[1000:])
			s.w.Close()
		})
	}
	wg.Wait()
	for i, s := range streams {
		if err := <-s.done; err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
		checkDownload(t, c, bucket, streamKey(i), s.data)
	}
}

func streamKey(i int) string { return "stream-" + string(rune('a'+i%26)) + string(rune('0'+i/26)) }
