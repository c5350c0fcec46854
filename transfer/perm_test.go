package transfer

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
)

func TestParseFileMode(t *testing.T) {
	for in, want := range map[string]fs.FileMode{"0640": 0o640, "640": 0o640, "0o600": 0o600, "0777": 0o777, " 0644 ": 0o644} {
		if got, err := ParseFileMode(in); err != nil || got != want {
			t.Errorf("ParseFileMode(%q) = %04o, %v; want %04o", in, got, err, want)
		}
	}
	for _, in := range []string{"0999", "1777", "01000", "rw-r-----", "", "-1", "0440", "0000"} {
		if got, err := ParseFileMode(in); err == nil {
			t.Errorf("ParseFileMode(%q) = %04o, want an error", in, got)
		}
	}
}

func TestDirMode(t *testing.T) {
	tests := []struct{ file, dir fs.FileMode }{{0o640, 0o750}, {0o600, 0o700}, {0o644, 0o755}, {0o660, 0o770}, {0o604, 0o705}, {0, 0o777}}
	for _, tc := range tests {
		if got := (Perm{Mode: tc.file}).dirMode(); got != tc.dir {
			t.Errorf("dirMode of %04o = %04o, want %04o", tc.file, got, tc.dir)
		}
	}
}

func TestLookupGroup(t *testing.T) {
	for _, name := range []string{"s3bridge-no-such-group", "4000000123"} {
		if _, err := LookupGroup(name); err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("LookupGroup(%q): %v, want does not exist", name, err)
		}
	}
}

// stoppingStore is an ObjectStore whose Upload reads a little of the body
// and gives up, as S3 does when a request fails mid-stream.
type stoppingStore struct{ ObjectStore }

var errStopped = errors.New("upload stopped")

func (stoppingStore) Upload(_ context.Context, _, _ string, r io.Reader, _ s3bridge.PutOptions) (s3bridge.Object, error) {
	io.ReadFull(r, make([]byte, 1024))
	return s3bridge.Object{}, errStopped
}

type nopReporter struct{ s3bridge.Reporter }

func (nopReporter) Progress(int64, int64)                  {}
func (nopReporter) Logf(s3bridge.LogLevel, string, ...any) {}

// TestGzipStreamStops: when a compressed upload stops reading, the
// compressing goroutine ends instead of blocking on the pipe forever.
func TestGzipStreamStops(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 8<<20) // incompressible, far more than one read takes
	r := rand.NewChaCha8([32]byte{1})
	r.Read(data)
	if err := os.WriteFile(filepath.Join(dir, "big.dmp"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDir(dir, false, Perm{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	j := &job{store: stoppingStore{}, rep: nopReporter{}, guard: s3bridge.AllowAll{}}
	err = j.uploadOne(t.Context(), d, "big.dmp", DirectoryUpload{Bucket: "b", Directory: "D", CompressionLevel: 1})
	if !errors.Is(err, errStopped) {
		t.Fatalf("uploadOne: %v, want the upload's error", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for compressorRunning() {
		if time.Now().After(deadline) {
			t.Fatal("the gzipStream goroutine is still running 5s after the upload stopped")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// compressorRunning reports whether a gzipStream goroutine is alive.
func compressorRunning() bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Contains(string(buf[:n]), "transfer.gzipStream.func")
		}
		buf = make([]byte, 2*len(buf))
	}
}
