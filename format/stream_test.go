package format

import (
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestStreamMemory decodes large inputs generated on the fly, never stored,
// and checks that the heap in use stays flat (under 64 MiB) and that every
// record and line is accounted for. Sizes keep the whole test near ten
// seconds on a shared two-core machine; -short skips it.
func TestStreamMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: streams hundreds of MiB per format")
	}
	sizes := map[string]int64{"text": 512 << 20, "tsv": 256 << 20, "csv": 512 << 20,
		"jsonl": 256 << 20, "json": 256 << 20, "xml": 32 << 20}
	for _, f := range formats {
		t.Run(f, func(t *testing.T) {
			size := sizes[f]
			if raceEnabled {
				size /= 16
			}
			src, want := synth(f, size)
			counted := &countingReader{r: src}
			runtime.GC()
			start := time.Now()
			r, err := NewReader(counted, Options{Format: f})
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			var peak uint64
			for ; ; n++ {
				_, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("record %d: %v", n, err)
				}
				if n%50000 == 0 {
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapInuse)
				}
			}
			elapsed := time.Since(start)
			t.Logf("%s: %d MiB, %d records in %v (%.0f MB/s), peak heap in use %.1f MiB",
				f, counted.n>>20, n, elapsed.Round(time.Millisecond), float64(counted.n)/1e6/elapsed.Seconds(), float64(peak)/(1<<20))
			if n != want {
				t.Errorf("got %d records, want %d", n, want)
			}
			if peak > 64<<20 {
				t.Errorf("peak heap in use %d MiB, want < 64 MiB", peak>>20)
			}
		})
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestRecordTooLarge feeds a 256 MiB line without a terminator under a
// 1 MiB cap: the error must come in bounded memory, and for the
// line-oriented formats the next record must still be read.
func TestRecordTooLarge(t *testing.T) {
	for _, f := range []string{"text", "csv", "tsv", "jsonl", "json", "xml"} {
		t.Run(f, func(t *testing.T) {
			head := map[string]string{"jsonl": `{"a":"`, "json": `[{"a":"`, "xml": `<row a="`}[f]
			big := io.MultiReader(strings.NewReader(head), &repeatReader{b: []byte(strings.Repeat("x", 1<<20)), n: 256},
				strings.NewReader(map[string]string{"jsonl": "\"}\n{\"a\":\"ok\"}\n", "csv": "\nok\n", "text": "\nok\n", "tsv": "\nok\n"}[f]))
			runtime.GC()
			r, err := NewReader(big, Options{Format: f, MaxRecordBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.Next()
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrRecordTooLarge) || !strings.Contains(err.Error(), "1048576 bytes") {
				t.Fatalf("got %v, want a *Error wrapping ErrRecordTooLarge naming the cap", err)
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > 64<<20 {
				t.Errorf("heap in use %d MiB", ms.HeapInuse>>20)
			}
			if e.Fatal {
				return
			}
			rec, err := r.Next()
			if err != nil || len(rec) != 1 || rec[0].S != "ok" {
				t.Fatalf("after the error: %v %v, want the next record", rec, err)
			}
		})
	}
}
